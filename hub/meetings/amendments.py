"""An amended referral re-sent to the agencies that had the case on a published agenda.

Each agency sent the case on the agenda of a meeting still to be held (published, not
cancelled, no minutes yet) is sent the amended extract, through ``disclose`` like any
disclosure (purpose ``agenda``: the same policy rule, lawful basis and checks as the
agenda it had; sealed, queued and logged), but only if that rule lets it see one of the
fields that changed. An agency whose rule covers none of them is sent nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import get_agencies
from hub.cases import Case
from hub.disclosure.extracts import extract_request
from hub.meetings.sending import SendResult, send_many
from hub.meetings.tables import agenda_deliveries, meetings

__all__ = ["PURPOSE", "resend_amended"]

PURPOSE = "agenda"


async def _agenda_recipients(conn: AsyncConnection, ref: str) -> list[tuple[str, str]]:
    """(meeting id, agency id) for each agency disclosed the case on an agenda still open."""
    rows = await conn.execute(
        select(agenda_deliveries.c.meeting_id, agenda_deliveries.c.agency_id)
        .join(meetings, meetings.c.id == agenda_deliveries.c.meeting_id)
        .where(
            agenda_deliveries.c.case_ref == ref,
            agenda_deliveries.c.outcome == "disclosed",
            meetings.c.published_at.is_not(None),
            meetings.c.minutes_at.is_(None),
            meetings.c.cancelled_at.is_(None),
        )
        .order_by(agenda_deliveries.c.meeting_id, agenda_deliveries.c.agency_id)
    )
    return [(r.meeting_id, r.agency_id) for r in rows]


async def resend_amended(
    conn: AsyncConnection,
    ctx: Any,
    case: Case,
    changed: Collection[str],
    *,
    version: int,
    actor: str,
) -> list[SendResult]:
    """Re-send the amended ``case`` where the policy allows one of the ``changed`` fields,
    in ``conn``'s transaction; one outcome per agency sent (or refused) something."""
    targets = await _agenda_recipients(conn, case.ref)
    found = await get_agencies(conn, {agency_id for _, agency_id in targets})
    summary = f"Referral amended (version {version}): changed {', '.join(sorted(changed))}"
    requests = []
    for meeting_id, agency_id in targets:
        agency = found.get(agency_id)
        rule = ctx.policy.rule(PURPOSE, agency.kind) if agency is not None else None
        if agency is None or rule is None:
            continue
        if not set(changed) & rule.fields_for(case.perpetrator_must_not_know):
            continue
        requests.append(
            extract_request(
                case, agency, actor=actor, purpose=PURPOSE, meeting_id=meeting_id, summary=summary
            )
        )
    return await send_many(conn, ctx, requests) if requests else []
