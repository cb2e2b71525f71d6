"""``agency-client research`` and ``agency-client action update`` against a real hub: the
answer is built from the stored request or notice, sealed to the hub's announced key,
and reaches the handler registered for its type; bad input is one line, nothing sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from agency_helpers import PASS, Agency, enrolled

from agency_client.cli import main
from agency_client.outbound import fetch_hub_key, hub_key_from
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.sealing import open_envelope, seal
from hub.inbound import INBOUND_TYPES, replaced
from hub.protocol.errors import HubError
from hub.protocol.messages import (
    ActionNotice,
    ActionSummary,
    ActionUpdate,
    Message,
    PersonDetails,
    ResearchRequest,
    ResearchResponse,
)
from hub.testing import RunningHub

CASE = "M-2026-0001"
OLD_REQUEST = "01JD0000000000000000000000"
NEW_REQUEST = "01JD0000000000000000000009"
ACTION = "01JD00000000000000000000A1"
MEETING = "01JD00000000000000000000M1"

Received = list[tuple[str, Message]]


@pytest.fixture
def received() -> Iterator[Received]:
    """What the hub's handlers got (registered through the real registry)."""
    got: Received = []

    async def handle(
        conn: Any, ctx: Any, agency: Any, message: Message, envelope_id: str, now: datetime
    ) -> dict[str, Any]:
        if message.model_dump().get("note") == "refuse me":
            raise HubError("the hub refuses this one", code="not-action-owner")
        got.append((agency.id, message))
        return {"ok": True}

    with replaced(dict.fromkeys(INBOUND_TYPES, handle)):
        yield got


@pytest.fixture
async def agency(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Agency]:
    """An enrolled client holding two research requests for CASE and one action notice."""
    monkeypatch.setenv("AGENCY_CLIENT_PASSPHRASE", PASS)
    enrolled_agency = await enrolled(http, hub, tmp_path, "police-north")
    for request_id, day in ((NEW_REQUEST, 2), (OLD_REQUEST, 1)):
        deliver(hub, enrolled_agency, request(request_id), datetime(2026, 11, day, tzinfo=UTC))
    deliver(hub, enrolled_agency, notice(), datetime(2026, 11, 3, tzinfo=UTC))
    yield enrolled_agency
    await enrolled_agency.client.close()
    enrolled_agency.store.close()


def request(request_id: str) -> ResearchRequest:
    return ResearchRequest(
        request_id=request_id,
        case_ref=CASE,
        meeting_id=MEETING,
        respond_by=date(2026, 12, 1),
        subjects=(PersonDetails(subject_id="S-1", role="victim", name="Philippa Quennell"),),
    )


def notice() -> ActionNotice:
    return ActionNotice(
        action=ActionSummary(
            action_id=ACTION,
            case_ref=CASE,
            owner_agency="police-north",
            description="Flag the address for an urgent response.",
            due_date=date(2026, 12, 15),
            status="open",
        )
    )


def deliver(hub: RunningHub, agency: Agency, message: Message, sent: datetime) -> None:
    """Store ``message`` as the client's runner would after receiving it from the hub."""
    [key] = agency.encryption_keys().values()
    envelope = seal(
        message,
        sender=hub.keys.identity,
        sender_id="hub",
        recipient_id=agency.id,
        recipient_key=key.public,
        now=sent,
        case_ref=CASE,
    )
    opened = open_envelope(envelope, recipient=key, sender=hub.keys.identity.public)
    agency.store.add(opened, envelope.digest(), sent)


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``agency-client`` in a thread (it runs its own event loop)."""
    status = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def refused(result: tuple[int, str, str], code: str) -> None:
    status, out, err = result
    assert status == 1 and out == "", (out, err)
    assert err.count("\n") == 1 and f": {code}: " in err, err


ANSWER = {
    "nothing_known": False,
    "items": [
        {"text": "Two call-outs to the address in March.", "kind": "fact"},
        {
            "text": "Officer believes risk is rising.",
            "kind": "opinion",
            "recorded_on": "2026-03-02",
        },
    ],
    "withheld": [{"description": "An intelligence report", "reason": "live operation"}],
}


async def test_research_answers_the_newest_request_and_reaches_the_hub(  # type: ignore[no-untyped-def]
    agency, received, capsys, tmp_path
) -> None:
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(ANSWER), encoding="utf-8")
    status, out, err = await cli(
        capsys, "research", CASE, "--file", str(answer), "--dir", str(agency.data.path)
    )
    assert status == 0, err
    assert out.startswith(f"research response for case {CASE} (request {NEW_REQUEST}) sent as ")
    assert out.count("\n") == 1
    [(sender, message)] = received
    assert sender == "police-north" and isinstance(message, ResearchResponse)
    assert (message.request_id, message.case_ref, message.agency_id) == (
        NEW_REQUEST,
        CASE,
        "police-north",
    )
    sent = message.model_dump(mode="json", include={"nothing_known", "items", "withheld"})
    expected = {**ANSWER, "items": [{"recorded_on": None, **i} for i in ANSWER["items"]]}
    assert sent == expected


async def test_action_update_reports_on_the_stored_action(agency, received, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = await cli(
        capsys,
        "action",
        "update",
        ACTION,
        "--status",
        "completed",
        "--note",
        "Address flagged on the command system.",
        "--dir",
        str(agency.data.path),
    )
    assert status == 0, err
    assert out.startswith(f"action {ACTION} ({CASE}) is now completed: sent as ")
    [(sender, message)] = received
    assert sender == "police-north" and isinstance(message, ActionUpdate)
    assert (message.action_id, message.case_ref, message.status, message.note) == (
        ACTION,
        CASE,
        "completed",
        "Address flagged on the command system.",
    )


async def test_unknown_case_or_action_and_hub_refusals_are_one_line(  # type: ignore[no-untyped-def]
    agency, received, capsys, tmp_path
) -> None:
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(ANSWER), encoding="utf-8")
    data = str(agency.data.path)
    refused(
        await cli(capsys, "research", "M-2026-9999", "--file", str(answer), "--dir", data),
        "unknown-case",
    )
    other = "01JD00000000000000000000Z9"
    refused(
        await cli(capsys, "action", "update", other, "--status", "open", "--dir", data),
        "unknown-action",
    )
    refused(
        await cli(capsys, "action", "update", ACTION, "--status", "cancelled", "--dir", data),
        "invalid-message",  # a cancelled action needs a reason
    )
    refused(
        await cli(
            capsys,
            "action",
            "update",
            ACTION,
            "--status",
            "open",
            "--note",
            "refuse me",
            "--dir",
            data,
        ),
        "not-action-owner",  # the hub's handler refused: nothing stored there
    )
    assert received == []


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "malformed JSON": (b'{"nothing_known": false,', "malformed-json"),
    "not UTF-8": (
        b'{"nothing_known": false, "items": [{"text": "\xff", "kind": "fact"}]}',
        "malformed-json",
    ),
    "duplicate keys": (b'{"nothing_known": false, "nothing_known": true}', "malformed-json"),
    "not an object": (b"[]", "wrong-type"),
    "unknown top-level key": (
        b'{"nothing_known": true, "agency_id": "health-east"}',
        "unknown-field",
    ),
    "no nothing_known": (b'{"items": []}', "missing-field"),
    "nothing_known not a boolean": (b'{"nothing_known": "yes"}', "wrong-type"),
    "unknown item key": (
        b'{"nothing_known": false, "items": [{"text": "x", "kind": "fact", "by": "y"}]}',
        "invalid-message",
    ),
    "item without kind": (b'{"nothing_known": false, "items": [{"text": "x"}]}', "invalid-message"),
    "kind neither fact nor opinion": (
        b'{"nothing_known": false, "items": [{"text": "x", "kind": "rumour"}]}',
        "invalid-message",
    ),
    "overlong text": (
        json.dumps(
            {"nothing_known": False, "items": [{"text": "x" * 20_001, "kind": "fact"}]}
        ).encode(),
        "invalid-message",
    ),
    "bad date": (
        b'{"nothing_known": false, "items": [{"text": "x", "kind": "fact", '
        b'"recorded_on": "2026-02-30"}]}',
        "invalid-message",
    ),
    "nothing known yet items": (
        b'{"nothing_known": true, "items": [{"text": "x", "kind": "fact"}]}',
        "invalid-message",
    ),
    "huge file": (
        b'{"nothing_known": true, "pad": "' + b"x" * (1024 * 1024) + b'"}',
        "payload-too-large",
    ),
}


async def test_bad_answer_files_are_refused_before_anything_is_sent(  # type: ignore[no-untyped-def]
    agency, received, capsys, tmp_path
) -> None:
    for case, (content, code) in BAD_FILES.items():
        path = tmp_path / "answer.json"
        path.write_bytes(content)
        result = await cli(
            capsys, "research", CASE, "--file", str(path), "--dir", str(agency.data.path)
        )
        assert f": {code}: " in result[2], case
        refused(result, code)
        assert "Philippa" not in result[2]
    refused(
        await cli(
            capsys,
            "research",
            CASE,
            "--file",
            str(tmp_path / "absent.json"),
            "--dir",
            str(agency.data.path),
        ),
        "bad-file",
    )
    assert received == []


async def test_the_hub_key_is_accepted_only_if_the_pinned_identity_signed_it(  # type: ignore[no-untyped-def]
    hub, agency
) -> None:
    pinned = agency.store.hub_key()
    assert pinned is not None
    key = await fetch_hub_key(agency.client, pinned)
    assert key.key == hub.keys.encryption.public and key.hub_id == "hub"
    with pytest.raises(HubError) as wrong:
        await fetch_hub_key(agency.client, IdentityKeyPair.generate().public)
    assert wrong.value.code == "bad-signature"
    info = await agency.client.request("GET", "/hub")
    swapped = {**info, "encryption": {**info["encryption"], "fingerprint": "0" * 64}}
    with pytest.raises(HubError) as mismatch:
        hub_key_from(swapped, pinned, datetime.now(UTC))
    assert mismatch.value.code == "bad-signature"
    with pytest.raises(HubError) as missing:
        hub_key_from(
            {k: v for k, v in info.items() if k != "encryption"}, pinned, datetime.now(UTC)
        )
    assert missing.value.code == "malformed"
