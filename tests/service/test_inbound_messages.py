"""``POST /api/v1/messages``: sealed research responses and action updates reach their
handler once, intact, from the agency that sent them; everything else is refused with
nothing stored. ``GET /api/v1/hub`` publishes the key they are sealed to."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from conftest import Agent, assert_problem, staff_call
from sqlalchemy import func, select

from hub.crypto.announce import SignedKeyAnnouncement, verify_announcement
from hub.crypto.keys import EncryptionKeyPair, EncryptionPublicKey, IdentityKeyPair
from hub.crypto.request_signing import sign_request
from hub.crypto.sealing import seal
from hub.inbound import INBOUND_TYPES, InboundContext, handler, registered, replaced, unregister
from hub.inbound.tables import inbound_messages
from hub.protocol import Envelope
from hub.protocol.canonical import b64decode
from hub.protocol.errors import HubError
from hub.protocol.messages import (
    ActionUpdate,
    Message,
    Notice,
    ResearchItem,
    ResearchResponse,
    WithheldItem,
)
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub

PATH = "/api/v1/messages"
REQUEST_ID = "01JD0000000000000000000000"
ACTION_ID = "01JD0000000000000000000001"


@dataclass
class Recorder:
    """A handler registered through the real registry: records what arrives."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: HubError | None = None

    async def handle(
        self, conn: Any, ctx: Any, agency: Any, message: Message, envelope_id: str, now: datetime
    ) -> dict[str, Any]:
        # Inside the transaction: the row that makes the envelope idempotent is visible.
        seen = await conn.scalar(
            select(inbound_messages.c.type).where(inbound_messages.c.envelope_id == envelope_id)
        )
        assert seen == message.message_type
        assert isinstance(ctx, InboundContext) and ctx.settings.hub_id == "hub"
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append({"agency": agency.id, "message": message, "envelope_id": envelope_id})
        return {"stored": message.message_type, "count": len(self.calls)}


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Replace the registered handlers (if any) by a recorder for the test's duration."""
    record = Recorder()
    with replaced(dict.fromkeys(INBOUND_TYPES, record.handle)):
        yield record


def response(agency_id: str = "police-north", case_ref: str = "M-2026-0001") -> ResearchResponse:
    return ResearchResponse(
        request_id=REQUEST_ID,
        case_ref=case_ref,
        agency_id=agency_id,
        responded_at=datetime.now(UTC),
        nothing_known=False,
        items=(
            ResearchItem(text="Two call-outs to the address in March.", kind="fact"),
            ResearchItem(
                text="Officer thinks risk is rising.", kind="opinion", recorded_on=date(2026, 3, 2)
            ),
        ),
        withheld=(WithheldItem(description="An intelligence report", reason="live operation"),),
    )


def update(status: str = "in_progress") -> ActionUpdate:
    return ActionUpdate(
        action_id=ACTION_ID,
        case_ref="M-2026-0001",
        status=status,  # type: ignore[arg-type]
        updated_at=datetime.now(UTC),
        note="Home visit booked.",
    )


def sealed(
    agent: Agent,
    message: Message | Mapping[str, Any],
    *,
    sender: IdentityKeyPair | None = None,
    sender_id: str | None = None,
    to: str = "hub",
    key: EncryptionPublicKey | None = None,
    case_ref: str | None = "M-2026-0001",
    message_type: str | None = None,
    envelope_id: str | None = None,
) -> Envelope:
    """``message`` sealed by ``agent`` to the hub (each part replaceable to test refusals)."""
    return seal(
        message,
        sender=sender or agent.identity,
        sender_id=sender_id or agent.id,
        recipient_id=to,
        recipient_key=key or agent.hub.keys.encryption.public,
        now=datetime.now(UTC),
        case_ref=case_ref,
        message_type=message_type,
        envelope_id=envelope_id,
    )


async def post(agent: Agent, envelope: Envelope | Any) -> tuple[int, Any]:
    doc = {"envelope": envelope.to_json() if isinstance(envelope, Envelope) else envelope}
    return await agent.call("POST", PATH, json.dumps(doc).encode())


async def stored(hub: RunningHub) -> int:
    async with hub.app[ENGINE].connect() as conn:
        count: int = await conn.scalar(select(func.count()).select_from(inbound_messages))
        return count


async def test_hub_publishes_an_encryption_key_signed_by_its_identity(hub, http) -> None:  # type: ignore[no-untyped-def]
    async with http.get(hub.url + "/api/v1/hub") as resp:
        doc = await resp.json()
    published = doc["encryption"]
    signed = SignedKeyAnnouncement.from_json(published["announcement"])
    key = verify_announcement(signed, identity=hub.keys.identity.public, now=datetime.now(UTC))
    assert key == hub.keys.encryption.public
    assert published["fingerprint"] == key.fingerprint == hub.keys.encryption.fingerprint
    assert published["suite"] == key.suite
    assert b64decode(published["key"]) == key.raw
    assert signed.announcement.party == doc["hub_id"]
    with pytest.raises(HubError) as refused:  # another identity did not sign it
        verify_announcement(signed, identity=IdentityKeyPair.generate().public)
    assert refused.value.code == "bad-signature"


async def test_research_response_and_action_update_reach_their_handler(  # type: ignore[no-untyped-def]
    hub, make_agency, recorder
) -> None:
    agent: Agent = await make_agency("police-north")
    sent = response()
    envelope = sealed(agent, sent)
    status, doc = await post(agent, envelope)
    assert status == 202, doc
    assert doc == {
        "envelope_id": envelope.header.id,
        "type": "research_response",
        "already": False,
        "result": {"stored": "research_response", "count": 1},
    }
    envelope2 = sealed(agent, update())
    status, doc = await post(agent, envelope2)
    assert status == 202, doc
    assert doc["result"] == {"stored": "action_update", "count": 2}
    first, second = recorder.calls
    assert first == {"agency": "police-north", "message": sent, "envelope_id": envelope.header.id}
    assert second["message"] == update().model_copy(
        update={"updated_at": second["message"].updated_at}
    )
    async with hub.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(inbound_messages))).all()
    by_id = {r.envelope_id: r for r in rows}
    row = by_id[envelope.header.id]
    assert (row.agency_id, row.type, row.case_ref, row.digest) == (
        "police-north",
        "research_response",
        "M-2026-0001",
        envelope.digest(),
    )
    assert row.handled_at is not None


async def test_replay_is_idempotent_and_a_reused_id_is_refused(hub, make_agency, recorder) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    envelope = sealed(agent, response())
    assert (await post(agent, envelope))[0] == 202
    status, doc = await post(agent, envelope)  # a new signed request, the same envelope
    assert status == 200, doc
    assert doc == {"envelope_id": envelope.header.id, "type": "research_response", "already": True}
    assert len(recorder.calls) == 1
    other = sealed(agent, update(), envelope_id=envelope.header.id)
    status, doc = await post(agent, other)
    assert_problem(status, doc, 409, "duplicate-envelope")
    # Another agency reusing the id is refused too, without learning anything else.
    agent2: Agent = await make_agency("health-east", "health")
    status, doc = await post(
        agent2, sealed(agent2, response("health-east"), envelope_id=envelope.header.id)
    )
    assert_problem(status, doc, 409, "duplicate-envelope")
    assert len(recorder.calls) == 1 and await stored(hub) == 1


async def test_a_handler_refusal_rolls_everything_back(hub, make_agency, recorder) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    recorder.fail_with = HubError("no such research request", code="not-found")
    envelope = sealed(agent, response())
    status, doc = await post(agent, envelope)
    assert_problem(status, doc, 404, "not-found")
    assert await stored(hub) == 0
    recorder.fail_with = None  # once the handler accepts it, the same envelope goes through
    status, doc = await post(agent, envelope)
    assert status == 202, doc
    assert await stored(hub) == 1 and len(recorder.calls) == 1


REFUSALS = {
    "sealed to another key": (
        lambda a, b: sealed(a, response(), key=EncryptionKeyPair.generate().public),
        400,
        "invalid-envelope",
    ),
    "signed with another agency's key": (
        lambda a, b: sealed(a, response(), sender=b.identity),
        400,
        "invalid-envelope",
    ),
    "sent in another agency's name": (
        lambda a, b: sealed(a, response("health-east"), sender=b.identity, sender_id=b.id),
        403,
        "sender-mismatch",
    ),
    "payload naming another agency": (
        lambda a, b: sealed(a, response("health-east")),
        403,
        "sender-mismatch",
    ),
    "payload about another case": (
        lambda a, b: sealed(a, response(case_ref="M-2026-0002")),
        400,
        "case-mismatch",
    ),
    "envelope without the payload's case": (
        lambda a, b: sealed(a, update(), case_ref=None),
        400,
        "case-mismatch",
    ),
    "addressed to another hub": (
        lambda a, b: sealed(a, response(), to="other-hub"),
        400,
        "wrong-recipient",
    ),
    "a type the hub does not accept": (
        lambda a, b: sealed(a, Notice(text="hello"), case_ref=None),
        400,
        "unhandled-type",
    ),
    "a payload that does not fit its type": (
        lambda a, b: sealed(
            a,
            {**response().model_dump(mode="json"), "nothing_known": True},
            message_type="research_response",
        ),
        400,
        "invalid-message",
    ),
    "truncated ciphertext": (
        lambda a, b: Envelope(sealed(a, response()).header, sealed(a, response()).ciphertext[:-9]),
        400,
        "invalid-envelope",
    ),
    "ciphertext of another envelope": (
        lambda a, b: Envelope(sealed(a, update()).header, sealed(a, response()).ciphertext),
        400,
        "invalid-envelope",
    ),
}


async def test_refused_envelopes_store_nothing(hub, make_agency, recorder) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    other: Agent = await make_agency("health-east", "health")
    for case, (build, expected_status, code) in REFUSALS.items():
        status, doc = await post(agent, build(agent, other))
        assert (status, doc["type"].rsplit("/", 1)[-1]) == (expected_status, code), case
        assert "Officer" not in json.dumps(doc)  # no payload content in a problem
    assert recorder.calls == [] and await stored(hub) == 0


async def test_a_type_with_no_handler_is_refused(hub, make_agency, recorder) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    unregister("action_update")
    status, doc = await post(agent, sealed(agent, update()))
    assert_problem(status, doc, 400, "unhandled-type")
    assert await stored(hub) == 0


def _envelope_json(agent: Agent) -> dict[str, Any]:
    return sealed(agent, response()).to_json()


MALFORMED: dict[str, tuple[Any, str]] = {
    "not JSON": (b'{"envelope": ', "malformed-json"),
    "bad UTF-8": (b'{"envelope": "\xff"}', "malformed-json"),
    "duplicate keys": (b'{"envelope": 1, "envelope": 2}', "malformed-json"),
    "an array": (b"[]", "malformed"),
    "extra member": (lambda a: {"envelope": _envelope_json(a), "more": 1}, "malformed"),
    "envelope not an object": ({"envelope": "x"}, "wrong-type"),
    "header missing a field": (
        lambda a: {"envelope": {**_envelope_json(a), "header": {"v": 1}}},
        "missing-field",
    ),
    "ciphertext not base64url": (
        lambda a: {"envelope": {**_envelope_json(a), "ciphertext": "a+b/"}},
        "bad-base64",
    ),
    "unknown type": (
        lambda a: {
            "envelope": {
                **_envelope_json(a),
                "header": {**_envelope_json(a)["header"], "type": "<script>"},
            }
        },
        "unknown-type",
    ),
    "deeply nested": (b'{"envelope": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "malformed-json"),
}


async def test_malformed_bodies_are_refused(hub, make_agency, recorder) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    for case, (given, code) in MALFORMED.items():
        body = given(agent) if callable(given) else given
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, doc = await agent.call("POST", PATH, raw)
        assert (status, doc["type"].rsplit("/", 1)[-1]) == (400, code), case
    assert recorder.calls == [] and await stored(hub) == 0


async def test_oversized_and_mistyped_bodies_are_refused(hub, make_agency, recorder) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    huge = b'{"envelope": "' + b"A" * (hub.settings.max_body_bytes + 1) + b'"}'
    headers = sign_request(agent.identity, agent.id, "POST", PATH, "", huge, now=datetime.now(UTC))
    async with agent.http.post(
        hub.url + PATH,
        data=io.BytesIO(huge),  # streamed: aiohttp warns about large bytes bodies
        headers={**headers, "Content-Type": "application/json"},
    ) as resp:
        assert_problem(resp.status, await resp.json(content_type=None), 413, "payload-too-large")
    envelope = json.dumps({"envelope": _envelope_json(agent)}).encode()
    status, doc = await agent.call("POST", PATH, envelope, headers={"Content-Type": "text/plain"})
    assert_problem(status, doc, 415, "unsupported-media-type")
    assert recorder.calls == [] and await stored(hub) == 0


async def test_only_signed_requests_of_active_agencies_are_heard(  # type: ignore[no-untyped-def]
    hub, http, make_agency, recorder
) -> None:
    agent: Agent = await make_agency("police-north")
    body = {"envelope": _envelope_json(agent)}
    async with http.post(hub.url + PATH, json=body) as resp:  # unsigned
        assert_problem(resp.status, await resp.json(), 401, "bad-signature")
    status, doc = await staff_call(hub, http, "POST", PATH, body=body)  # a staff token
    assert_problem(status, doc, 401, "bad-signature")
    pending: Agent = await make_agency("health-east", "health", approve=False)
    status, doc = await post(pending, sealed(pending, response("health-east")))
    assert_problem(status, doc, 403, "agency-not-approved")
    status, doc = await staff_call(hub, http, "POST", "/api/v1/agencies/police-north/suspend")
    assert status == 200, doc
    status, doc = await post(agent, sealed(agent, response()))
    assert_problem(status, doc, 403, "agency-suspended")
    assert recorder.calls == [] and await stored(hub) == 0


def test_only_inbound_types_can_be_registered() -> None:
    with pytest.raises(ValueError, match="accepts no"):
        handler("agenda")
    before = {t: registered(t) for t in INBOUND_TYPES}

    async def another(*_: Any) -> dict[str, Any]:
        return {}

    for message_type in INBOUND_TYPES:
        with replaced({message_type: another}):
            assert registered(message_type) is another
            handler(message_type)(another)  # the same function again is harmless
            with pytest.raises(ValueError, match="already registered"):
                handler(message_type)(Recorder().handle)
    assert {t: registered(t) for t in INBOUND_TYPES} == before
