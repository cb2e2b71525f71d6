"""``disclose``: decide, project, build, seal, queue and log — in the caller's transaction.

The steps live in modules of their own: :mod:`request` (context, request, outcomes,
checks), :mod:`decision` (the policy), the projection (``hub.policy.project``),
:mod:`rendering` (the agency's format), :mod:`sealing` (envelope, outbox row, log entry),
:mod:`holding` (overrides and holds) and :mod:`batch` (read once, written once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.delivery.settings import deliveries_of
from hub.disclosure.batch import Batch
from hub.disclosure.decision import all_restricted, decide_for
from hub.disclosure.entries import case_refs_of, consent_of, refusal_entry
from hub.disclosure.holding import hold, record_override
from hub.disclosure.rendering import render_for
from hub.disclosure.request import (
    NOTICE,
    Disclosed,
    DisclosureContext,
    DisclosureRequest,
    Held,
    Outcome,
    Refused,
    check_override,
    refuse_unless_disclosed,
)
from hub.disclosure.sealing import seal_and_log, seal_into
from hub.policy import Decision, project
from hub.policy.standing import Standing
from hub.protocol.errors import HubError, PolicyError

__all__ = [
    "NOTICE",
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
    batch = Batch(
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
    conn: AsyncConnection, ctx: DisclosureContext, request: DisclosureRequest, batch: Batch
) -> Outcome:
    """One request of a batch; a ``Disclosed``'s ``log_index`` is its place in the batch."""
    decision = await _decide(conn, ctx, request, batch, restricted=all_restricted(request.cases))
    if decision.outcome == "deny":
        code, reason = decision.code or "policy-refused", decision.reason or "refused by policy"
        batch.entries.append(refusal_entry(ctx, request, decision, code))
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
    override = await record_override(conn, ctx, request, batch) if request.extra_fields else None
    if decision.outcome == "review" or request.hold:
        return await hold(conn, ctx, request, decision, message, override, batch)
    key = batch.standing.keys.get(request.agency.id)
    if key is None:  # decide() checked; a key revoked since is still never sealed to
        raise PolicyError("the agency has no valid encryption key", code="key-revoked")
    return seal_into(
        ctx,
        batch,
        message=message,
        payload=payload,
        agency_id=request.agency.id,
        key=key,
        purpose=request.purpose,
        case_refs=case_refs_of(request),
        consent=consent_of(request),
        decision=decision,
        override=override,
        actor=request.actor,
    )


async def _decide(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    request: DisclosureRequest,
    batch: Batch,
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
