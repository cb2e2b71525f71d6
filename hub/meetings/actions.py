"""Actions agreed at a meeting: record, notify the owner, update, list, history.

An action belongs to one case and one owning agency; its description, reasons and
notes are kept under the case key. Every change is a row in ``action_updates``
(who, when, status, note, reason): a domestic homicide review sees exactly what was
done and when.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from hub.agencies import get_agency
from hub.cases import (
    agencies_serving,
    decrypt_for_case,
    encrypt_for_case,
    load_case,
)
from hub.hub_keys import HubKeys
from hub.meetings.meetings import Meeting, agenda_refs, check_case_ref
from hub.meetings.rules import ACTION_STATUSES, OPEN, check_update, is_overdue
from hub.meetings.sending import SendResult, send
from hub.meetings.tables import action_updates, actions, meetings
from hub.policy import Decision
from hub.protocol.errors import HubError, PolicyError, ProtocolError
from hub.protocol.messages import ActionNotice, ActionSummary, PersonDetails, SafeContact

__all__ = [
    "Action",
    "ActionEvent",
    "action_area",
    "add_action",
    "check_text",
    "find_action",
    "find_actions",
    "history",
    "incomplete_before",
    "record_update",
]

_ULID: Final = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
MAX_TEXT: Final = 20_000


@dataclass(frozen=True, slots=True)
class Action:
    """An action with its description and latest reason decrypted."""

    id: str
    meeting_id: str
    area: str
    case_ref: str
    owner: str
    description: str
    due_date: date
    status: str
    reason: str | None
    created_at: datetime
    updated_at: datetime
    last_chased_on: date | None

    def summary(self, decision: Decision, prefix: str, recipient: str) -> ActionSummary:
        """The action as an agenda, notice or minutes carries it to ``recipient``: its free
        text (``<prefix>.description``, ``<prefix>.reason``) only where ``decision`` allows
        (a rule's owner fields only to the agency owning the action)."""

        def text(name: str, value: str | None) -> str | None:
            allowed = decision.sends(f"{prefix}.{name}", owner=self.owner, recipient=recipient)
            return value if allowed else None

        return ActionSummary(
            action_id=self.id,
            case_ref=self.case_ref,
            owner_agency=self.owner,
            description=text("description", self.description),
            due_date=self.due_date,
            status=self.status,
            reason=text("reason", self.reason),
        )

    def as_json(self, today: date) -> dict[str, Any]:
        """The action as the API shows it to staff."""
        return {
            "id": self.id,
            "meeting_id": self.meeting_id,
            "area": self.area,
            "case_ref": self.case_ref,
            "owner": self.owner,
            "description": self.description,
            "due_date": self.due_date.isoformat(),
            "status": self.status,
            "reason": self.reason,
            "overdue": is_overdue(self.status, self.due_date, today),
            "updated_at": self.updated_at.isoformat(),
            "last_chased_on": self.last_chased_on.isoformat() if self.last_chased_on else None,
        }


@dataclass(frozen=True, slots=True)
class ActionEvent:
    """One kept update of an action."""

    status: str
    by: str
    at: datetime
    note: str | None
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        """The update as the API shows it."""
        return {
            "status": self.status,
            "by": self.by,
            "at": self.at.isoformat(),
            "note": self.note,
            "reason": self.reason,
        }


def check_text(value: object, what: str, *, optional: bool = False) -> str | None:
    """A 1 to 20 000 character text (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ProtocolError(f"{what} must be 1 to {MAX_TEXT} characters")
    return value


async def _seal(
    conn: AsyncConnection, keys: HubKeys, ref: str, field: str, text: str | None
) -> bytes | None:
    if text is None:
        return None
    return await encrypt_for_case(conn, keys, ref, field, text.encode())


async def _open(
    conn: AsyncConnection, keys: HubKeys, ref: str, field: str, blob: bytes | None
) -> str | None:
    if blob is None:
        return None
    return (await decrypt_for_case(conn, keys, ref, field, bytes(blob))).decode()


async def _action(conn: AsyncConnection, keys: HubKeys, row: Any) -> Action:
    return Action(
        id=row.id,
        meeting_id=row.meeting_id,
        area=row.area_id,
        case_ref=row.case_ref,
        owner=row.owner_agency,
        description=await _open(conn, keys, row.case_ref, f"action:{row.id}", row.description)
        or "",
        due_date=row.due_date,
        status=row.status,
        reason=await _open(conn, keys, row.case_ref, f"action-reason:{row.id}", row.reason),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_chased_on=row.last_chased_on,
    )


async def add_action(
    conn: AsyncConnection,
    ctx: Any,
    keys: HubKeys,
    meeting: Meeting,
    *,
    actor: str,
    by: str,
    case_ref: str,
    owner: str,
    description: str,
    due_date: date,
    now: datetime,
) -> tuple[Action, SendResult]:
    """Record an action agreed for a case on the meeting's agenda and notify its owner.

    The owner is sent an ``ActionNotice`` (purpose ``action_notice``) carrying only what
    the policy allows (the description as ``action.description``); a refusal is logged
    and reported, and the action stays recorded. ``actor`` is the log's name for the
    member of staff (``role:name``), ``by`` their name.
    """
    meeting.require_open()
    check_case_ref(case_ref)
    text = check_text(description, "a description")
    assert text is not None
    if case_ref not in await agenda_refs(conn, meeting.id):
        raise HubError("the case is not on this meeting's agenda", code="not-found")
    agency = await get_agency(conn, owner) if isinstance(owner, str) else None
    if agency is None or agency.id not in await agencies_serving(conn, meeting.area.id):
        raise HubError("no such agency serving this area", code="not-found")
    action_id = str(ULID.from_datetime(now))
    await conn.execute(
        actions.insert().values(
            id=action_id,
            meeting_id=meeting.id,
            area_id=meeting.area.id,
            case_ref=case_ref,
            owner_agency=agency.id,
            description=await _seal(conn, keys, case_ref, f"action:{action_id}", text),
            due_date=due_date,
            status="open",
            created_at=now,
            created_by=by,
            updated_at=now,
        )
    )
    await conn.execute(
        action_updates.insert().values(action_id=action_id, status="open", by=actor, at=now)
    )
    action = await find_action(conn, keys, action_id)
    case = await load_case(conn, keys, case_ref)

    def build(projections: list[dict[str, Any]], decision: Decision) -> ActionNotice:
        view = projections[0] if projections else {}
        victim, contact = view.get("victim"), view.get("safe_contact")
        return ActionNotice(
            action=action.summary(decision, "action", agency.id),
            meeting_id=meeting.id,
            victim=PersonDetails.model_validate(victim) if victim else None,
            safe_contact=SafeContact.model_validate(contact) if contact else None,
            perpetrator_must_not_know=view.get("perpetrator_must_not_know"),
        )

    outcome = await send(
        conn,
        ctx,
        purpose="action_notice",
        agency=agency,
        cases=[case],
        build=build,
        actor=actor,
        meeting_id=meeting.id,
    )
    return action, outcome


async def action_area(conn: AsyncConnection, action_id: str) -> str:
    """The area of an action, read without decrypting it (``not-found`` if none)."""
    if not isinstance(action_id, str) or not _ULID.match(action_id):
        raise HubError("no such action", code="not-found")
    area = await conn.scalar(select(actions.c.area_id).where(actions.c.id == action_id))
    if area is None:
        raise HubError("no such action", code="not-found")
    return str(area)


async def find_action(conn: AsyncConnection, keys: HubKeys, action_id: str) -> Action:
    """One action by id (``not-found`` for a malformed or unknown id)."""
    if not isinstance(action_id, str) or not _ULID.match(action_id):
        raise HubError("no such action", code="not-found")
    row = (await conn.execute(select(actions).where(actions.c.id == action_id))).first()
    if row is None:
        raise HubError("no such action", code="not-found")
    return await _action(conn, keys, row)


async def record_update(
    conn: AsyncConnection,
    keys: HubKeys,
    action: Action,
    *,
    status: str,
    note: str | None,
    reason: str | None,
    by: str,
    now: datetime,
    envelope_id: str | None = None,
) -> Action:
    """Apply one update under the status rules and keep it."""
    check_text(note, "a note", optional=True)
    check_text(reason, "a reason", optional=True)
    check_update(action.status, status, reason=reason, due_date=action.due_date, today=now.date())
    ref = action.case_ref
    count = await conn.scalar(
        select(func.count())
        .select_from(action_updates)
        .where(action_updates.c.action_id == action.id)
    )
    field = f"{action.id}:{(count or 0) + 1}"  # binds each text to its place in the history
    await conn.execute(
        action_updates.insert().values(
            action_id=action.id,
            status=status,
            note=await _seal(conn, keys, ref, f"update-note:{field}", note),
            reason=await _seal(conn, keys, ref, f"update-reason:{field}", reason),
            by=by,
            at=now,
            envelope_id=envelope_id,
        )
    )
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if reason is not None:
        values["reason"] = await _seal(conn, keys, ref, f"action-reason:{action.id}", reason)
    await conn.execute(update(actions).where(actions.c.id == action.id).values(**values))
    return await find_action(conn, keys, action.id)


async def agency_update(
    conn: AsyncConnection,
    keys: HubKeys,
    agency_id: str,
    *,
    action_id: str,
    case_ref: str,
    status: str,
    note: str | None,
    reason: str | None,
    now: datetime,
    envelope_id: str,
) -> Action:
    """An update sent by an agency: only the owning agency may update its action."""
    try:
        action = await find_action(conn, keys, action_id)
    except HubError:
        action = None
    if action is None or action.owner != agency_id or action.case_ref != case_ref:
        raise PolicyError("only the owning agency may update this action", code="not-action-owner")
    return await record_update(
        conn,
        keys,
        action,
        status=status,
        note=note,
        reason=reason,
        by=f"agency:{agency_id}",
        now=now,
        envelope_id=envelope_id,
    )


async def history(conn: AsyncConnection, keys: HubKeys, action: Action) -> list[ActionEvent]:
    """Every update kept of ``action``, oldest first."""
    rows = await conn.execute(
        select(action_updates)
        .where(action_updates.c.action_id == action.id)
        .order_by(action_updates.c.id)
    )
    events = []
    for i, r in enumerate(rows.all(), start=1):
        field = f"{action.id}:{i}"
        events.append(
            ActionEvent(
                r.status,
                r.by,
                r.at,
                await _open(conn, keys, action.case_ref, f"update-note:{field}", r.note),
                await _open(conn, keys, action.case_ref, f"update-reason:{field}", r.reason),
            )
        )
    return events


async def find_actions(
    conn: AsyncConnection,
    keys: HubKeys,
    *,
    areas: Collection[str] | None = None,
    agency: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    today: date,
) -> list[Action]:
    """Actions of ``areas`` (``None``: every area), filtered; overdue ones are open past
    their due date."""
    query: Select[Any] = select(actions)
    if areas is not None:
        query = query.where(actions.c.area_id.in_(sorted(areas)))
    if agency is not None:
        query = query.where(actions.c.owner_agency == agency)
    if status is not None:
        if status not in ACTION_STATUSES:
            raise ProtocolError(f"status must be one of {', '.join(ACTION_STATUSES)}")
        query = query.where(actions.c.status == status)
    if overdue:
        query = query.where(actions.c.status.in_(sorted(OPEN)), actions.c.due_date < today)
    rows = await conn.execute(query.order_by(actions.c.due_date, actions.c.id))
    return [await _action(conn, keys, r) for r in rows.all()]


async def incomplete_before(conn: AsyncConnection, keys: HubKeys, meeting: Meeting) -> list[Action]:
    """Incomplete actions of the area's earlier meetings: they carry forward to this agenda."""
    rows = await conn.execute(
        select(actions)
        .join(meetings, meetings.c.id == actions.c.meeting_id)
        .where(
            actions.c.area_id == meeting.area.id,
            actions.c.status.in_(sorted(OPEN)),
            meetings.c.id != meeting.id,
            meetings.c.meeting_date <= meeting.meeting_date,
        )
        .order_by(actions.c.due_date, actions.c.id)
    )
    return [await _action(conn, keys, r) for r in rows.all()]
