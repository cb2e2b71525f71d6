"""Hostile input around formats: an oversized message, an unknown format, a rendered
payload that does not parse on the agency's side. Each is refused with a clear error
that names no value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from disclosure.test_pipeline import World, _case, world  # noqa: F401
from sqlalchemy import func, select

from agency_client.rendered import content_of
from agency_client.sinks import CommandSink, FolderSink
from agency_client.store import MessageInfo, StoredMessage
from hub import agencies as agency_ops
from hub.adapters.formats import FormatError, load_format
from hub.adapters.testing.formats import full_extract
from hub.delivery.settings import DeliverySettings, set_delivery
from hub.delivery.tables import outbox
from hub.disclosure import DisclosureRequest, disclose
from hub.policy import load_policy
from hub.protocol.errors import DeliveryError, ProtocolError
from hub.protocol.messages import MAX_ITEMS, CaseExtract

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SECRET = "Quennell-Ashdown"


def _huge() -> CaseExtract:
    extract = full_extract()
    (action,) = extract.actions or ()
    many = tuple(
        action.model_copy(
            update={
                "action_id": f"01HZX3P4Q5R6S7T8V9W0X{n:05d}",
                "description": SECRET * (20_000 // len(SECRET)),
            }
        )
        for n in range(MAX_ITEMS)
    )
    return extract.model_copy(update={"actions": many})


@pytest.mark.parametrize("name", ["fhir-r4", "pole"])
def test_a_message_too_large_to_render_is_refused(name: str) -> None:
    with pytest.raises(FormatError) as info:
        load_format(name).render(_huge())
    assert info.value.code == "payload-too-large"
    assert SECRET not in info.value.diagnostics()


@pytest.mark.parametrize("name", ["", "nope", "FHIR-R4", "webhook", "x" * 5000, "p\u202eole"])
def test_an_unknown_format_name_is_refused(name: str) -> None:
    with pytest.raises(FormatError) as info:
        load_format(name)
    assert len(info.value.message) < 400


def _queued(env: World) -> int:
    async def work() -> int:
        async with env.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())

    return env.run(work())


def test_an_agency_set_to_an_uninstalled_format_gets_nothing_and_a_clear_error(
    world: World,  # noqa: F811
) -> None:
    policy = load_policy(None)
    view: dict[str, Any] = {
        "victim": {"subject_id": "S-AAAAAAAAAAAA", "role": "victim", "name": SECRET},
        "perpetrator": {"subject_id": "S-BBBBBBBBBBBB", "role": "perpetrator"},
        "children": [],
        "risk": {"tool": "DASH", "yes_count": 15, "level": "high"},
        "referral": {
            "criterion": "visible_high_risk",
            "referring_agency": "police-a",
            "referred_on": NOW.date(),
            "consent": "not_sought",
        },
        "safe_contact": {"safe_to_contact": False},
        "perpetrator_must_not_know": False,
    }
    case = _case(view, 900)

    async def work() -> None:
        async with world.engine.begin() as conn:
            await set_delivery(
                conn, "police-a", DeliverySettings(format="gone-format"), now=NOW, by="t"
            )
        try:
            async with world.engine.begin() as conn:
                agency = await agency_ops.get_agency(conn, "police-a")
                assert agency is not None

                def build(projections: list[dict[str, Any]], decision: Any) -> CaseExtract:
                    return CaseExtract(
                        case_ref=case.ref,
                        purpose="case_extract",
                        policy_version=decision.policy_version,
                        lawful_basis=decision.basis,
                        **projections[0],
                    )

                request = DisclosureRequest("case_extract", agency, [case], build, "coordinator:a")
                await disclose(conn, world.context(policy), request)
        finally:
            async with world.engine.begin() as conn:
                await set_delivery(conn, "police-a", DeliverySettings(), now=NOW, by="t")

    before = _queued(world)
    with pytest.raises(DeliveryError) as info:
        world.run(work())
    assert info.value.code == "unknown-format" and "gone-format" in info.value.message
    assert SECRET not in info.value.diagnostics()
    assert _queued(world) == before  # the transaction rolled back: nothing queued


def _stored(payload: dict[str, Any], kind: str = "rendered") -> StoredMessage:
    info = MessageInfo(
        "01HZX3Q0000000000000000000",
        kind,
        "hub",
        "M-1",
        "2026-11-23T10:00:00Z",
        "2026-11-23T10:00:01Z",
        "f" * 64,
        "e" * 64,
        None,
        None,
        None,
    )
    return StoredMessage(info, payload)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"format": "pole", "original_type": "case_extract", "document": [SECRET]},
        {"format": "pole", "original_type": "receipt", "document": {}},
        {"format": "pole", "original_type": "case_extract", "document": {}, "x": SECRET},
    ],
)
async def test_a_malformed_rendered_payload_is_not_handed_on(
    payload: dict[str, Any], tmp_path: Any
) -> None:
    with pytest.raises(ProtocolError) as info:
        content_of("rendered", payload)
    assert SECRET not in info.value.diagnostics()
    with pytest.raises(ProtocolError):
        await FolderSink(tmp_path).hand(_stored(payload))
    assert list(tmp_path.iterdir()) == []


async def test_sinks_get_the_document_itself_and_its_format(tmp_path: Any) -> None:
    document = load_format("pole").render(full_extract())
    message = _stored({"format": "pole", "original_type": "case_extract", "document": document})
    assert await FolderSink(tmp_path / "out").hand(message)
    written = (tmp_path / "out" / "01HZX3Q0000000000000000000.json").read_text()
    load_format("pole").validate(json.loads(written))
    seen = tmp_path / "env.txt"
    sink = CommandSink(f"sh -c 'echo $MARAC_FORMAT $MARAC_MESSAGE_TYPE > {seen}'")
    assert await sink.hand(message)
    assert seen.read_text().split() == ["pole", "case_extract"]
