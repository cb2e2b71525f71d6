"""Disclosures the policy held for REVIEW: list them, approve (send) or reject."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import get_agency, newest_key
from hub.cases import load_case
from hub.crypto.sealing import open_envelope
from hub.disclosure.decision import decide_for
from hub.disclosure.fields import disclosed_paths
from hub.disclosure.request import Disclosed, DisclosureContext, Refused
from hub.disclosure.sealing import seal_and_log
from hub.disclosure.tables import held_disclosures, overrides
from hub.log import LogEntry, append
from hub.protocol.envelope import parse_envelope
from hub.protocol.errors import HubError, PolicyError

__all__ = ["HeldDisclosure", "approve", "get_held", "list_held", "reject"]


@dataclass(frozen=True, slots=True)
class HeldDisclosure:
    """A disclosure waiting for (or past) a coordinator's decision; no content."""

    id: str
    agency_id: str
    purpose: str
    case_refs: tuple[str, ...]
    meeting_id: str | None
    override_id: str | None
    status: str
    requested_by: str
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    envelope_id: str | None
    area_ids: tuple[str, ...] = ()  # its cases' (or meeting's) areas, where the reader set them

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "id": self.id,
            "agency_id": self.agency_id,
            "purpose": self.purpose,
            "case_refs": list(self.case_refs),
            "meeting_id": self.meeting_id,
            "override_id": self.override_id,
            "status": self.status,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat(),
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "envelope_id": self.envelope_id,
            "areas": list(self.area_ids),
        }


def _held(row: Any) -> HeldDisclosure:
    return HeldDisclosure(
        row.id,
        row.agency_id,
        row.purpose,
        tuple(json.loads(row.case_refs)),
        row.meeting_id,
        row.override_id,
        row.status,
        row.requested_by,
        row.created_at,
        row.resolved_by,
        row.resolved_at,
        row.envelope_id,
    )


async def list_held(
    conn: AsyncConnection, *, status: str | None = "held", case_refs: set[str] | None = None
) -> list[HeldDisclosure]:
    """Held disclosures, oldest first (``status=None``: all of them)."""
    query = select(held_disclosures).order_by(held_disclosures.c.created_at)
    if status is not None:
        query = query.where(held_disclosures.c.status == status)
    found = [_held(row) for row in await conn.execute(query)]
    if case_refs is not None:
        found = [h for h in found if set(h.case_refs) <= case_refs]
    return found


async def _row(conn: AsyncConnection, hold_id: str) -> Any:
    row = (
        await conn.execute(select(held_disclosures).where(held_disclosures.c.id == hold_id))
    ).one_or_none()
    if row is None:
        raise HubError("no such held disclosure", code="not-found")
    return row


async def get_held(conn: AsyncConnection, hold_id: str) -> HeldDisclosure:
    """One held disclosure, whatever its status (``not-found`` if none)."""
    return _held(await _row(conn, hold_id))


async def _pending(conn: AsyncConnection, hold_id: str) -> Any:
    row = await _row(conn, hold_id)
    if row.status != "held":
        raise HubError(f"this disclosure was already {row.status}", code="conflict")
    return row


def _review_entry(ctx: DisclosureContext, row: Any, by: str, status: str) -> LogEntry:
    """The decision on a hold: who took it (``actor``) and who had asked (``requested_by``)."""
    return LogEntry(
        kind="review",
        at=ctx.now,
        actor=by,
        requested_by=row.requested_by,
        case_refs=tuple(json.loads(row.case_refs)),
        recipient=row.agency_id,
        purpose=row.purpose,
        status=status,
    )


async def approve(
    conn: AsyncConnection, ctx: DisclosureContext, hold_id: str, *, by: str
) -> Disclosed | Refused:
    """Send a held disclosure, after checking the policy and recipient again.

    The approval and the disclosure are logged together; if the recipient may no longer
    receive it (suspended, ISP, key, basis), it is refused and logged as such, and stays
    held for a decision.
    """
    row = await _pending(conn, hold_id)
    agency = await get_agency(conn, row.agency_id)
    if agency is None:
        raise HubError("the recipient agency no longer exists", code="not-found")
    refs = tuple(json.loads(row.case_refs))
    cases = [await load_case(conn, ctx.keys, ref) for ref in refs]
    extra: frozenset[str] = frozenset()
    if row.override_id is not None:
        fields = (
            await conn.execute(select(overrides.c.fields).where(overrides.c.id == row.override_id))
        ).scalar_one()
        extra = frozenset(json.loads(fields))
    restricted = bool(cases) and all(case.perpetrator_must_not_know for case in cases)
    decision = await decide_for(conn, ctx, row.purpose, agency, extra, restricted=restricted)
    if decision.outcome == "deny":
        code = decision.code or "policy-refused"
        entry = _review_entry(ctx, row, by, "refused").model_copy(
            update={"kind": "refusal", "refusal_code": code, "status": None}
        )
        await append(conn, [entry])
        return Refused(agency.id, code, decision.reason or "refused by policy")
    opened = open_envelope(
        parse_envelope(bytes(row.sealed)),
        recipient=ctx.keys.encryption,
        sender=ctx.keys.identity.public,
    )
    message = opened.message()
    if not disclosed_paths(opened.payload) <= set(decision.fields):
        raise PolicyError(
            "the policy no longer allows what was held: reject it and disclose again",
            code="policy-refused",
        )
    key = await newest_key(conn, agency.id, ctx.now)
    if key is None:
        raise PolicyError("the agency has no valid encryption key", code="key-revoked")
    await append(conn, [_review_entry(ctx, row, by, "approved")])
    override = None
    if row.override_id is not None:
        digest = (
            await conn.execute(
                select(overrides.c.justification_sha256).where(overrides.c.id == row.override_id)
            )
        ).scalar_one()
        override = {"id": row.override_id, "justification_sha256": digest}
    sent = await seal_and_log(
        conn,
        ctx,
        message=message,
        payload=opened.payload,
        agency_id=agency.id,
        key=key,
        purpose=row.purpose,
        case_refs=refs,
        consent=cases[0].consent if len(cases) == 1 else None,
        decision=decision,
        override=override,
        actor=by,
    )
    await conn.execute(
        update(held_disclosures)
        .where(held_disclosures.c.id == hold_id)
        .values(
            status="approved", resolved_by=by, resolved_at=ctx.now, envelope_id=sent.envelope_id
        )
    )
    return sent


async def reject(conn: AsyncConnection, ctx: DisclosureContext, hold_id: str, *, by: str) -> None:
    """Refuse a held disclosure: nothing is sent; the decision is logged."""
    row = await _pending(conn, hold_id)
    await append(conn, [_review_entry(ctx, row, by, "rejected")])
    await conn.execute(
        update(held_disclosures)
        .where(held_disclosures.c.id == hold_id)
        .values(status="rejected", resolved_by=by, resolved_at=ctx.now)
    )
