"""``disclose``: decide, project, build, seal, queue and log — in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from hub.adapters.formats import FormatError, bounded, load_format
from hub.agencies import Agency
from hub.cases import Case, encrypt_for_case
from hub.crypto.keys import EncryptionPublicKey
from hub.crypto.sealing import seal
from hub.delivery.settings import DEFAULT, DeliverySettings, deliveries_of, delivery_of
from hub.disclosure.fields import disclosed_paths, subject_ids_in
from hub.disclosure.tables import held_disclosures, overrides
from hub.hub_keys import HubKeys
from hub.log import LogEntry, append
from hub.policy import Decision, Policy, decide, project
from hub.policy.decide import Outcome as Verdict
from hub.policy.standing import Standing
from hub.protocol.canonical import canonical_json
from hub.protocol.errors import DeliveryError, HubError, PolicyError, ProtocolError
from hub.protocol.messages import Message, Rendered, payload_of
from hub.settings import Settings
from hub.storage.database import insert_many
from hub.storage.tables import outbox

__all__ = [
    "Disclosed",
    "DisclosureContext",
    "DisclosureRequest",
    "Held",
    "Outcome",
    "Refused",
    "check_override",
    "decide_for",
    "disclose",
    "disclose_many",
    "refuse_unless_disclosed",
    "render_for",
    "seal_and_log",
]

NOTICE = "notice"  # free notices carry no case data: no policy rule, but the same checks
MAX_JUSTIFICATION = 2000


@dataclass(frozen=True, slots=True)
class DisclosureContext:
    """What every disclosure needs from the running hub."""

    keys: HubKeys
    settings: Settings
    policy: Policy
    now: datetime


@dataclass(frozen=True)
class DisclosureRequest:
    """One message for one agency about zero or more cases (see docs/internals.md)."""

    purpose: str
    agency: Agency
    cases: Sequence[Case]
    build: Callable[[list[dict[str, Any]], Decision], Message]
    actor: str
    meeting_id: str | None = None
    extra_fields: frozenset[str] = field(default_factory=frozenset)
    justification: str | None = None
    case_ref: str | None = None
    hold: bool = False  # held for a second person's approval, whatever the policy says


@dataclass(frozen=True, slots=True)
class Disclosed:
    """Sealed, queued and logged."""

    agency_id: str
    envelope_id: str
    log_index: int


@dataclass(frozen=True, slots=True)
class Held:
    """Held for a coordinator's review (the policy said REVIEW, or four eyes apply)."""

    agency_id: str
    id: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A decision not to share: nothing sealed or queued; the refusal is logged."""

    agency_id: str
    code: str
    reason: str


Outcome = Disclosed | Held | Refused


async def disclose(
    conn: AsyncConnection, ctx: DisclosureContext, request: DisclosureRequest
) -> Outcome:
    """Disclose ``request`` in ``conn``'s transaction; see the module docstring."""
    (outcome,) = await disclose_many(conn, ctx, [request])
    return outcome


async def disclose_many(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    requests: Sequence[DisclosureRequest],
    *,
    agencies_current: bool = False,
) -> list[Outcome]:
    """Disclose each request in ``conn``'s transaction, exactly as ``disclose`` would one
    after the other, with the recipients' standing and formats read once for all of them
    and the outbox rows and log entries written together at the end (one insert, one
    append), in the requests' order. ``agencies_current``: the requests' agencies were
    read in this same transaction, so their standing need not read them again."""
    for request in requests:
        check_override(request.extra_fields, request.justification, len(request.cases))
    agency_ids = {request.agency.id for request in requests}
    known = {r.agency.id: r.agency for r in requests} if agencies_current else None
    batch = _Batch(
        await Standing.read(conn, agency_ids, ctx.now, known=known),
        await deliveries_of(conn, agency_ids),
    )
    outcomes = [await _disclose_one(conn, ctx, request, batch) for request in requests]
    indices = await batch.write(conn)
    return [
        replace(o, log_index=indices[o.log_index]) if isinstance(o, Disclosed) else o
        for o in outcomes
    ]


async def _disclose_one(
    conn: AsyncConnection, ctx: DisclosureContext, request: DisclosureRequest, batch: _Batch
) -> Outcome:
    """One request of a batch; a ``Disclosed``'s ``log_index`` is its place in the batch."""
    decision = await _decide(conn, ctx, request, batch, restricted=_all_restricted(request.cases))
    if decision.outcome == "deny":
        code, reason = decision.code or "policy-refused", decision.reason or "refused by policy"
        batch.entries.append(_refusal_entry(ctx, request, decision, code))
        return Refused(request.agency.id, code, reason)
    narrow = decision
    if any(case.perpetrator_must_not_know for case in request.cases) and not decision.restricted:
        # Mixed cases: each case is projected under its own rule; the others keep theirs.
        narrow = await _decide(conn, ctx, request, batch, restricted=True)
    projections = [
        project(case.view, (narrow if case.perpetrator_must_not_know else decision).fields)
        for case in request.cases
    ]
    message = request.build(projections, decision)
    payload = batch.payload(message)
    sent = batch.paths(message, payload)
    if not sent <= set(decision.fields):
        # The projection is the only source of case data; reaching here is a bug.
        raise HubError("a built message carries fields the policy did not allow")
    override = await _record_override(conn, ctx, request, batch) if request.extra_fields else None
    if decision.outcome == "review" or request.hold:
        return await _hold(conn, ctx, request, decision, message, override, batch)
    key = batch.standing.keys.get(request.agency.id)
    if key is None:  # decide() checked; a key revoked since is still never sealed to
        raise PolicyError("the agency has no valid encryption key", code="key-revoked")
    return _seal_into(
        ctx,
        batch,
        message=message,
        payload=payload,
        agency_id=request.agency.id,
        key=key,
        purpose=request.purpose,
        case_refs=_case_refs(request),
        consent=_consent(request),
        decision=decision,
        override=override,
        actor=request.actor,
    )


def refuse_unless_disclosed(outcome: Outcome) -> Disclosed | Held:
    """For a single-recipient call: a refusal becomes the ``PolicyError`` it stands for.

    Commit the transaction before calling this, so the refusal entry is kept.
    """
    if isinstance(outcome, Refused):
        raise PolicyError(outcome.reason, code=outcome.code)
    return outcome


def check_override(extra_fields: frozenset[str], justification: str | None, cases: int) -> None:
    """Refuse an override without a written justification, or one not about one case."""
    if not extra_fields:
        if justification is not None:
            raise ProtocolError("a justification is only given with fields to widen")
        return
    text = (justification or "").strip()
    if not text:
        raise ProtocolError(
            "widening a disclosure needs a written justification", code="missing-field"
        )
    if len(text) > MAX_JUSTIFICATION:
        raise ProtocolError(
            f"a justification is at most {MAX_JUSTIFICATION} characters", code="field-too-large"
        )
    if cases != 1:
        raise ProtocolError("an override widens a disclosure about exactly one case")


def _all_restricted(cases: Sequence[Case]) -> bool:
    """True when every case says the perpetrator must not know (and there is one)."""
    return bool(cases) and all(case.perpetrator_must_not_know for case in cases)


async def _decide(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    request: DisclosureRequest,
    batch: _Batch,
    *,
    restricted: bool,
) -> Decision:
    return await decide_for(
        conn,
        ctx,
        request.purpose,
        request.agency,
        request.extra_fields,
        restricted=restricted,
        standing=batch.standing,
    )


async def decide_for(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    purpose: str,
    agency: Agency,
    extra_fields: frozenset[str] = frozenset(),
    *,
    restricted: bool,
    standing: Standing | None = None,
) -> Decision:
    """The policy's decision for ``purpose`` to ``agency`` (``restricted``: under the rule's
    fields for a case whose perpetrator must not know; ``standing``: read once for a batch)."""
    if standing is None:
        standing = await Standing.read(conn, [agency.id], ctx.now)
    if purpose == NOTICE:
        return _decide_notice(ctx, agency, standing)
    return await decide(
        conn,
        ctx.policy,
        purpose=purpose,
        agency=agency,
        now=ctx.now,
        restricted=restricted,
        extra_fields=extra_fields,
        standing=standing,
    )


def _decide_notice(ctx: DisclosureContext, agency: Agency, standing: Standing) -> Decision:
    """A free notice carries no case data, so no rule or basis: only the recipient checks."""
    refusal = standing.refusal(agency.id)
    verdict = Decision(Verdict.PERMIT, purpose=NOTICE, policy_version=ctx.policy.version)
    if refusal is not None:
        code, reason = refusal
        return replace(verdict, outcome=Verdict.DENY, code=code, reason=reason)
    return verdict


def _basis(decision: Decision) -> dict[str, str] | None:
    if decision.basis is None:
        return None
    return {"id": decision.basis.id, "version": str(decision.basis.version)}


def _case_refs(request: DisclosureRequest) -> tuple[str, ...]:
    if not request.cases and request.case_ref is not None:
        return (request.case_ref,)
    return tuple(case.ref for case in request.cases)


def _consent(request: DisclosureRequest) -> str | None:
    return request.cases[0].consent if len(request.cases) == 1 else None


def _refusal_entry(
    ctx: DisclosureContext, request: DisclosureRequest, decision: Decision, code: str
) -> LogEntry:
    return LogEntry(
        kind="refusal",
        at=ctx.now,
        actor=request.actor,
        case_refs=_case_refs(request) or None,
        sender=ctx.settings.hub_id,
        recipient=request.agency.id,
        purpose=request.purpose,
        policy_version=decision.policy_version,
        refusal_code=code,
    )


async def _record_override(
    conn: AsyncConnection, ctx: DisclosureContext, request: DisclosureRequest, batch: _Batch
) -> dict[str, str]:
    """Keep the justification under the case's own key; log the override for the DPO."""
    case = request.cases[0]
    text = (request.justification or "").strip().encode()
    override_id = str(ULID())
    digest = hashlib.sha256(text).hexdigest()
    await conn.execute(
        overrides.insert().values(
            id=override_id,
            case_ref=case.ref,
            agency_id=request.agency.id,
            purpose=request.purpose,
            fields=json.dumps(sorted(request.extra_fields)),
            justification=await encrypt_for_case(
                conn, ctx.keys, case.ref, f"override:{override_id}", text
            ),
            justification_sha256=digest,
            requested_by=request.actor,
            created_at=ctx.now,
        )
    )
    batch.entries.append(
        LogEntry(
            kind="override",
            at=ctx.now,
            actor=request.actor,
            case_refs=(case.ref,),
            recipient=request.agency.id,
            purpose=request.purpose,
            fields=tuple(sorted(request.extra_fields)),
            override={"id": override_id, "justification_sha256": digest},
        )
    )
    return {"id": override_id, "justification_sha256": digest}


async def _hold(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    request: DisclosureRequest,
    decision: Decision,
    message: Message,
    override: dict[str, str] | None,
    batch: _Batch,
) -> Held:
    """Keep the built message sealed to the hub's own key until a coordinator decides."""
    hold_id = str(ULID())
    sealed = seal(
        message,
        sender=ctx.keys.identity,
        sender_id=ctx.settings.hub_id,
        recipient_id=ctx.settings.hub_id,
        recipient_key=ctx.keys.encryption.public,
        now=ctx.now,
        case_ref=request.cases[0].ref if len(request.cases) == 1 else None,
    )
    await conn.execute(
        held_disclosures.insert().values(
            id=hold_id,
            agency_id=request.agency.id,
            purpose=request.purpose,
            case_refs=json.dumps(list(_case_refs(request))),
            meeting_id=request.meeting_id,
            override_id=override["id"] if override else None,
            sealed=sealed.to_bytes(),
            status="held",
            requested_by=request.actor,
            created_at=ctx.now,
        )
    )
    batch.entries.append(
        LogEntry(
            kind="review",
            at=ctx.now,
            actor=request.actor,
            case_refs=_case_refs(request) or None,
            recipient=request.agency.id,
            purpose=request.purpose,
            message_type=message.message_type,
            fields=decision.fields or None,
            basis=_basis(decision),
            policy_version=decision.policy_version,
            status="held",
        )
    )
    return Held(request.agency.id, hold_id)


async def seal_and_log(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    *,
    message: Message,
    payload: Mapping[str, Any],
    agency_id: str,
    key: EncryptionPublicKey,
    purpose: str,
    case_refs: tuple[str, ...],
    consent: str | None,
    decision: Decision,
    override: dict[str, str] | None,
    actor: str,
) -> Disclosed:
    """The last step of every disclosure: envelope, outbox row and log entry together.

    The message is rendered in the agency's format first (``json`` keeps it as it is);
    ``payload`` (the typed message's) names the fields and subjects logged, and the log
    records the format and the SHA-256 of what was actually sealed.
    """
    batch = _Batch(None, await deliveries_of(conn, [agency_id]))
    sent = _seal_into(
        ctx,
        batch,
        message=message,
        payload=payload,
        agency_id=agency_id,
        key=key,
        purpose=purpose,
        case_refs=case_refs,
        consent=consent,
        decision=decision,
        override=override,
        actor=actor,
    )
    (index,) = await batch.write(conn)
    return replace(sent, log_index=index)


class _Batch:
    """What a batch of disclosures has read once and will write at its end."""

    def __init__(
        self, standing: Standing | None, deliveries: Mapping[str, DeliverySettings]
    ) -> None:
        self._standing = standing
        self.deliveries = deliveries
        self.outbox: list[dict[str, Any]] = []
        self.entries: list[LogEntry] = []
        # per message object (a notice to all is one object): its payload, paths, digests
        self._memo: dict[tuple[int, str], tuple[object, Any]] = {}

    @property
    def standing(self) -> Standing:
        if self._standing is None:
            raise AssertionError("this batch was made without the recipients' standing")
        return self._standing

    def _remember(self, obj: object, what: str, compute: Callable[[], Any]) -> Any:
        key = (id(obj), what)
        found = self._memo.get(key)
        if found is None or found[0] is not obj:
            found = self._memo[key] = (obj, compute())
        return found[1]

    def payload(self, message: Message) -> dict[str, Any]:
        """``payload_of(message)``, computed once per message object."""
        result: dict[str, Any] = self._remember(message, "payload", lambda: payload_of(message))
        return result

    def paths(self, message: Message, payload: Mapping[str, Any]) -> set[str]:
        """``disclosed_paths(payload)``, once per message object."""
        result: set[str] = self._remember(message, "paths", lambda: disclosed_paths(payload))
        return result

    def logged(self, message: Message, payload: Mapping[str, Any]) -> tuple[Any, ...]:
        """The log entry's subject ids and field names for ``payload``, once per message."""
        result: tuple[Any, ...] = self._remember(
            message,
            "logged",
            lambda: (
                subject_ids_in(payload) or None,
                tuple(sorted(self.paths(message, payload))) or None,
            ),
        )
        return result

    def canonical(self, sealed: Message, payload: Mapping[str, Any]) -> bytes:
        """The sealed payload's canonical JSON, once per message object."""
        result: bytes = self._remember(sealed, "json", lambda: canonical_json(dict(payload)))
        return result

    def payload_sha256(self, sealed: Message, payload: Mapping[str, Any]) -> str:
        """SHA-256 of the sealed payload's canonical JSON, once per message object."""
        result: str = self._remember(
            sealed, "sha256", lambda: hashlib.sha256(self.canonical(sealed, payload)).hexdigest()
        )
        return result

    def rendered(self, agency_id: str, message: Message) -> Message:
        """``message`` in the agency's format (one rendering per message and format)."""
        name = self.deliveries.get(agency_id, DEFAULT).format
        return self._remember(message, f"render:{name}", lambda: _render(agency_id, name, message))  # type: ignore[no-any-return]

    async def write(self, conn: AsyncConnection) -> list[int]:
        """One insert for the outbox rows, one append for the log entries; their indices."""
        await insert_many(conn, outbox, self.outbox)
        return await append(conn, self.entries)


def _seal_into(
    ctx: DisclosureContext,
    batch: _Batch,
    *,
    message: Message,
    payload: Mapping[str, Any],
    agency_id: str,
    key: EncryptionPublicKey,
    purpose: str,
    case_refs: tuple[str, ...],
    consent: str | None,
    decision: Decision,
    override: dict[str, str] | None,
    actor: str,
) -> Disclosed:
    """Seal to ``key`` and add the outbox row and log entry to ``batch``; the returned
    ``log_index`` is the entry's place in the batch."""
    sealed = batch.rendered(agency_id, message)
    sealed_payload = payload if sealed is message else batch.payload(sealed)
    case_ref = case_refs[0] if len(case_refs) == 1 else None
    envelope = seal(
        sealed,
        sender=ctx.keys.identity,
        sender_id=ctx.settings.hub_id,
        recipient_id=agency_id,
        recipient_key=key,
        now=ctx.now,
        case_ref=case_ref,
        payload_json=batch.canonical(sealed, sealed_payload),
    )
    digest = envelope.digest()
    batch.outbox.append(
        {
            "envelope_id": envelope.header.id,
            "agency_id": agency_id,
            "type": envelope.header.type,
            "case_ref": case_ref,
            "recipient_key": key.fingerprint,
            "digest": digest,
            "envelope": envelope.to_bytes(),
            "status": "queued",
            "created_at": ctx.now,
            "expires_at": ctx.now + ctx.settings.envelope_ttl,
            "sent_by": actor,
        }
    )
    subject_ids, fields = batch.logged(message, payload)
    batch.entries.append(
        LogEntry(
            kind="disclosure",
            at=ctx.now,
            actor=actor,
            envelope_id=envelope.header.id,
            envelope_sha256=digest,
            payload_sha256=batch.payload_sha256(sealed, sealed_payload),
            case_refs=case_refs or None,
            subject_ids=subject_ids,
            sender=ctx.settings.hub_id,
            recipient=agency_id,
            purpose=purpose,
            message_type=message.message_type,
            format=sealed.format if isinstance(sealed, Rendered) else "json",
            fields=fields,
            data_categories=decision.data_categories or None,
            basis=_basis(decision),
            consent=consent,
            policy_version=decision.policy_version,
            override=override,
        )
    )
    return Disclosed(agency_id, envelope.header.id, len(batch.entries) - 1)


async def render_for(conn: AsyncConnection, agency_id: str, message: Message) -> Message:
    """``message`` rendered in the agency's format, or itself (json, or a type not rendered)."""
    return _render(agency_id, (await delivery_of(conn, agency_id)).format, message)


def _render(agency_id: str, name: str, message: Message) -> Message:
    try:
        fmt = load_format(name)
    except FormatError:
        raise DeliveryError(
            f"agency {agency_id}'s format {name[:40]!r} is not installed", code="unknown-format"
        ) from None
    if message.message_type not in fmt.renders:
        return message
    document = bounded(fmt.render(message), fmt.name)  # a third party's format too
    return Rendered(format=fmt.name, original_type=message.message_type, document=document)
