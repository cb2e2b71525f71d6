"""Minutes: restricted, sealed only to the agencies recorded as attending; cases heard.

The coordinator gives, per case, the discussion text; the actions agreed are taken
from the tables. Both are free text, sent only as the policy's decision allows
(``discussion``, ``actions.*``). Each attending agency is sent one ``Minutes`` (purpose ``minutes``)
projected by its policy; agencies that sent apologies, or did not attend, get nothing.
Sending closes the meeting: the discussion is kept under each case key and every case
on the agenda is marked heard on the meeting date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import get_agency
from hub.cases import encrypt_for_case, load_case, mark_heard
from hub.hub_keys import HubKeys
from hub.meetings.actions import Action, check_text, find_action
from hub.meetings.listing import agenda
from hub.meetings.meetings import Meeting, attendance_of
from hub.meetings.sending import SendResult, send
from hub.meetings.tables import actions, meeting_cases, meetings
from hub.policy import Decision
from hub.protocol.errors import ProtocolError
from hub.protocol.messages import Minutes, MinutesItem, PersonDetails

__all__ = ["parse_minutes", "send_minutes"]

MAX_ITEMS: Final = 500


def parse_minutes(doc: Any) -> dict[str, str]:
    """``{"items": [{"case_ref", "discussion"}, …]}`` → ``{case_ref: discussion}``."""
    if not isinstance(doc, dict) or set(doc) != {"items"} or not isinstance(doc["items"], list):
        raise ProtocolError('minutes are {"items": [{"case_ref": …, "discussion": …}, …]}')
    if len(doc["items"]) > MAX_ITEMS:
        raise ProtocolError(f"at most {MAX_ITEMS} items", code="payload-too-large")
    out: dict[str, str] = {}
    for item in doc["items"]:
        if not isinstance(item, dict) or set(item) != {"case_ref", "discussion"}:
            raise ProtocolError("each item has exactly case_ref and discussion")
        ref = item["case_ref"]
        if not isinstance(ref, str) or ref in out:
            raise ProtocolError("each case_ref is a string, given once")
        text = check_text(item["discussion"], "a discussion")
        assert text is not None
        out[ref] = text
    return out


async def send_minutes(
    conn: AsyncConnection,
    ctx: Any,
    keys: HubKeys,
    meeting: Meeting,
    discussions: dict[str, str],
    *,
    actor: str,
    now: datetime,
) -> list[SendResult]:
    """Seal the minutes to each attending agency, keep them, mark the cases heard."""
    meeting.require_open()
    listed = await agenda(conn, meeting)
    refs = [entry.case.ref for entry in listed]
    if not refs:
        raise ProtocolError("the agenda is empty: there is nothing to minute")
    unknown = sorted(set(discussions) - set(refs))
    if unknown:
        raise ProtocolError(f"not on this agenda: {', '.join(unknown[:5])}")
    present = await attendance_of(conn, meeting.id)
    attended = sorted(a for a, s in present.items() if s == "attended")
    apologies = sorted(a for a, s in present.items() if s == "apologies")
    if not attended:
        raise ProtocolError("record attendance first: minutes go only to agencies that attended")
    agreed: dict[str, list[Action]] = {}
    ids = await conn.execute(
        select(actions.c.id).where(actions.c.meeting_id == meeting.id).order_by(actions.c.id)
    )
    for (action_id,) in ids.all():
        action = await find_action(conn, keys, action_id)
        agreed.setdefault(action.case_ref, []).append(action)
    cases = [await load_case(conn, keys, ref) for ref in refs]

    def builder(recipient: str) -> Any:
        def build(projections: list[dict[str, Any]], decision: Decision) -> Minutes:
            items = []
            for ref, view in zip(refs, projections, strict=False):
                victim = view.get("victim")
                said = discussions.get(ref) if decision.sends("discussion") else None
                items.append(
                    MinutesItem(
                        case_ref=ref,
                        victim=PersonDetails.model_validate(victim) if victim else None,
                        discussion=said,
                        actions=tuple(
                            a.summary(decision, "actions", recipient) for a in agreed.get(ref, ())
                        ),
                    )
                )
            return _minutes(meeting, attended, apologies, items)

        return build

    outcomes = []
    for agency_id in attended:
        agency = await get_agency(conn, agency_id)
        assert agency is not None  # attendance names only known agencies
        outcomes.append(
            await send(
                conn,
                ctx,
                purpose="minutes",
                agency=agency,
                cases=cases,
                build=builder(agency.id),
                actor=actor,
                meeting_id=meeting.id,
            )
        )
    for ref in refs:
        text = discussions.get(ref)
        if text is not None:
            blob = await encrypt_for_case(conn, keys, ref, f"minutes:{meeting.id}", text.encode())
            await conn.execute(
                update(meeting_cases)
                .where(meeting_cases.c.meeting_id == meeting.id, meeting_cases.c.case_ref == ref)
                .values(discussion=blob)
            )
        await mark_heard(conn, ref, meeting.meeting_date)
    await conn.execute(update(meetings).where(meetings.c.id == meeting.id).values(minutes_at=now))
    return outcomes


def _minutes(
    meeting: Meeting, attended: list[str], apologies: list[str], items: list[MinutesItem]
) -> Minutes:
    return Minutes(
        meeting_id=meeting.id,
        area=meeting.area.id,
        meeting_date=meeting.meeting_date,
        attended=tuple(attended),
        apologies=tuple(apologies),
        items=tuple(items),
    )
