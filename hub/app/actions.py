"""Use-cases for actions agreed at meetings: add, update, list, show, history, chase.

A coordinator of the action's area, or an admin, records and updates; reading an action's
free text (its description, reasons, notes) is theirs too, and is logged as an
``access`` entry. A DPO lists actions without their free text (ids, case refs, owners,
dates and statuses). The owner's notice and every chase pass the disclosure policy.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date, datetime

from hub.agencies import get_agency
from hub.app.access import record_access
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, WRITERS, use_case
from hub.app.rules import require_area, require_serves
from hub.app.runtime import Runtime
from hub.cases.areas import Area, list_areas
from hub.meetings import actions as action_ops
from hub.meetings import meetings as meeting_ops
from hub.meetings.actions import Action, ActionEvent
from hub.meetings.chasing import chase_overdue
from hub.meetings.rules import ACTION_STATUSES
from hub.meetings.sending import SendResult
from hub.protocol.errors import ProtocolError

__all__ = [
    "ACTION_STATUSES",
    "Action",
    "ActionEvent",
    "add_action",
    "action_history",
    "action_tracker",
    "chase_actions",
    "chase_daily",
    "list_actions",
    "show_action",
    "update_action",
]


@use_case("action.add", *WRITERS)
async def add_action(
    rt: Runtime,
    actor: Actor,
    meeting_id: str,
    case_ref: str,
    owner: str,
    description: str,
    due_date: date,
) -> tuple[Action, SendResult]:
    """Record an action agreed for a case on the meeting's agenda; notify its owner."""
    if not isinstance(due_date, date):
        raise ProtocolError("due_date must be a date (YYYY-MM-DD)")
    now = rt.clock()
    async with rt.engine.begin() as conn:
        meeting = await meeting_ops.get_meeting(conn, meeting_id)
        await require_area(conn, actor, meeting.area.id, write=True)
        if isinstance(owner, str) and await get_agency(conn, owner) is not None:
            await require_serves(conn, [owner], meeting.area.id)  # the notice goes to it
        action, outcome = await action_ops.add_action(
            conn,
            rt.context(now),
            rt.keys,
            meeting,
            actor=actor.log_name,
            by=actor.name,
            case_ref=case_ref,
            owner=owner,
            description=description,
            due_date=due_date,
            now=now,
        )
    if outcome.kind == "disclosed":
        rt.wake([outcome.agency])
    return action, outcome


@use_case("action.update", *WRITERS)
async def update_action(
    rt: Runtime,
    actor: Actor,
    action_id: str,
    status: str,
    note: str | None = None,
    reason: str | None = None,
) -> Action:
    """A coordinator's own update of an action of their area (kept with who and when)."""
    async with rt.engine.begin() as conn:
        await require_area(conn, actor, await action_ops.action_area(conn, action_id), write=True)
        action = await action_ops.find_action(conn, rt.keys, action_id)
        return await action_ops.record_update(
            conn,
            rt.keys,
            action,
            status=status,
            note=note,
            reason=reason,
            by=actor.log_name,
            now=rt.clock(),
        )


def _without_text(action: Action) -> Action:
    return replace(action, description="", reason=None)


@use_case("action.list", *ANY_STAFF)
async def list_actions(
    rt: Runtime,
    actor: Actor,
    area: str | None = None,
    agency: str | None = None,
    status: str | None = None,
    overdue: bool = False,
) -> list[Action]:
    """Actions of an area (or of every area ``actor`` may read), filtered; a coordinator's
    list is logged as an access entry, a DPO's carries no free text."""
    return await _list(rt, actor, area, agency, status, overdue)


async def _list(
    rt: Runtime,
    actor: Actor,
    area: str | None,
    agency: str | None,
    status: str | None,
    overdue: bool,
) -> list[Action]:
    now = rt.clock()
    async with rt.engine.begin() as conn:
        areas: Collection[str] | None = None
        if area is not None:
            await require_area(conn, actor, area)
            areas = [area]
        elif actor.role == "coordinator":
            areas = actor.areas or frozenset()
        found = await action_ops.find_actions(
            conn,
            rt.keys,
            areas=areas,
            agency=agency,
            status=status,
            overdue=overdue,
            today=now.date(),
        )
        if actor.role == "dpo":
            return [_without_text(a) for a in found]
        refs = sorted({a.case_ref for a in found})
        await record_access(conn, actor, refs, purpose="view", what=["actions"], now=now)
    return found


@use_case("action.tracker", *WRITERS)
async def action_tracker(
    rt: Runtime,
    actor: Actor,
    area: str | None = None,
    agency: str | None = None,
    status: str | None = None,
    overdue: bool = False,
) -> tuple[list[Area], list[Action]]:
    """The web UI's action tracker: the areas ``actor`` works in, and the actions found
    as :func:`list_actions` finds them (logged as an access entry)."""
    async with rt.engine.connect() as conn:
        only = set(actor.areas or ()) if actor.role != "admin" else None
        areas = await list_areas(conn, only)
    return areas, await _list(rt, actor, area, agency, status, overdue)


async def _history(
    rt: Runtime, actor: Actor, action_id: str, what: str
) -> tuple[Action, list[ActionEvent]]:
    async with rt.engine.begin() as conn:
        await require_area(conn, actor, await action_ops.action_area(conn, action_id), write=True)
        action = await action_ops.find_action(conn, rt.keys, action_id)
        events = await action_ops.history(conn, rt.keys, action)
        await record_access(
            conn, actor, [action.case_ref], purpose="view", what=[what], now=rt.clock()
        )
    return action, events


@use_case("action.show", *WRITERS)
async def show_action(
    rt: Runtime, actor: Actor, action_id: str
) -> tuple[Action, list[ActionEvent]]:
    """An action and every update kept of it, oldest first (logged as an access entry)."""
    return await _history(rt, actor, action_id, "action")


@use_case("action.history", *WRITERS)
async def action_history(
    rt: Runtime, actor: Actor, action_id: str
) -> tuple[Action, list[ActionEvent]]:
    """Every update of an action, oldest first (logged as an access entry)."""
    return await _history(rt, actor, action_id, "action-history")


@use_case("action.chase", *WRITERS)
async def chase_actions(rt: Runtime, actor: Actor) -> list[tuple[str, SendResult]]:
    """Chase overdue actions now (a coordinator's areas; an admin's: all), once a day each;
    each chase is logged with ``actor`` as its sender."""
    areas = None if actor.role == "admin" else (actor.areas or frozenset())
    now = rt.clock()
    async with rt.engine.begin() as conn:
        chased = await chase_overdue(
            conn, rt.context(now), now=now, areas=areas, actor=actor.log_name
        )
    rt.wake(o.agency for _, o in chased if o.kind == "disclosed")
    return chased


async def chase_daily(rt: Runtime, now: datetime) -> int:
    """The housekeeping loop's chase of overdue actions (the hub itself, not a person)."""
    async with rt.engine.begin() as conn:
        chased = await chase_overdue(conn, rt.context(now), now=now)
    rt.wake(o.agency for _, o in chased if o.kind == "disclosed")
    return len(chased)
