"""Use-cases for the disclosures staff send by hand and for held disclosures.

- ``disclosure.extract``: a case extract to one agency, by an admin or a coordinator of the
  case's area, only to an agency serving that area (``recipient-outside-area``). With
  ``widen`` (an override, with a justification) and four eyes on in the case's area, it is
  held until a second person approves; with four eyes off it is sent at once (still logged
  as an override).
- ``held.list``: the holds the actor may decide (a coordinator: about their areas' cases);
  an admin or a DPO sees all.
- ``held.approve``: by an admin or a coordinator of the hold's area and, with four eyes on,
  not by the person who asked (``self-approval``). The approval's review entry names the
  approver (``actor``) and the requester (``requested_by``); the disclosure's actor is the
  approver.
- ``held.reject``: by anyone who may decide the hold (refusing to share is always safe).
- ``area.four-eyes``: an admin turns four eyes on or off for an area (logged).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import get_agency
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, WRITERS, use_case
from hub.app.rules import require_area, require_other_person, require_role, require_serves
from hub.app.runtime import Runtime
from hub.cases.areas import get_area
from hub.cases.store import case_area
from hub.cases.tables import areas, cases
from hub.disclosure import Disclosed, Held, Outcome, Refused, refuse_unless_disclosed
from hub.disclosure.extracts import check_extract
from hub.disclosure.extracts import send_extract as seal_extract
from hub.disclosure.review import HeldDisclosure, approve, get_held, list_held, reject
from hub.log import LogEntry, append
from hub.meetings.tables import meetings
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "HOLD_STATUSES",
    "Disclosed",
    "Held",
    "HeldDisclosure",
    "Outcome",
    "Refused",
    "approve_hold",
    "list_holds",
    "reject_hold",
    "send_extract",
    "set_four_eyes",
]

HOLD_STATUSES = ("held", "approved", "rejected", "all")


async def four_eyes(conn: AsyncConnection, area_ids: Iterable[str]) -> bool:
    """True if any of the areas wants a second person's approval (or none is named)."""
    wanted = set(area_ids)
    if not wanted:
        return True
    query = select(areas.c.four_eyes).where(areas.c.id.in_(wanted))
    return any(bool(on) for on in (await conn.execute(query)).scalars())


@use_case("disclosure.extract", *WRITERS)
async def send_extract(
    rt: Runtime,
    actor: Actor,
    ref: str,
    agency_id: str,
    *,
    widen: frozenset[str] = frozenset(),
    justification: str | None = None,
    summary: str | None = None,
) -> Disclosed | Held:
    """Disclose a proportionate extract of a case to one agency serving its area; an
    override (``widen``) is held for a second person where four eyes are on. A policy
    refusal is logged, then raised as its problem."""
    if not isinstance(agency_id, str):
        raise ProtocolError("agency_id must be a string", code="wrong-type")
    check_extract(widen, justification, summary)
    async with rt.engine.begin() as conn:
        area = await case_area(conn, ref)
        await require_area(conn, actor, area, write=True)
        if await get_agency(conn, agency_id) is None:
            raise HubError("no such agency", code="not-found")
        await require_serves(conn, [agency_id], area)
        outcome = await seal_extract(
            conn,
            rt.context(),
            case_ref=ref,
            agency_id=agency_id,
            actor=actor.log_name,
            widen=widen,
            justification=justification,
            summary=summary,
            hold=bool(widen) and await four_eyes(conn, [area]),
        )
    _wake(rt, [outcome])
    return refuse_unless_disclosed(outcome)


def _wake(rt: Runtime, outcomes: Sequence[Outcome]) -> None:
    sent = [o.agency_id for o in outcomes if isinstance(o, Disclosed)]
    if sent:
        rt.wake(sent)


async def _areas_of(conn: AsyncConnection, holds: Sequence[HeldDisclosure]) -> dict[str, set[str]]:
    """Each hold's areas: its cases' areas, or (for a case-less one) its meeting's area."""
    refs = {ref for h in holds for ref in h.case_refs}
    meeting_ids = {h.meeting_id for h in holds if not h.case_refs and h.meeting_id}
    by_case: dict[str, str] = {}
    if refs:
        query = select(cases.c.ref, cases.c.area_id).where(cases.c.ref.in_(refs))
        by_case = {row.ref: row.area_id for row in await conn.execute(query)}
    by_meeting: dict[str, str] = {}
    if meeting_ids:
        query = select(meetings.c.id, meetings.c.area_id).where(meetings.c.id.in_(meeting_ids))
        by_meeting = {row.id: row.area_id for row in await conn.execute(query)}
    found: dict[str, set[str]] = {}
    for h in holds:
        if h.case_refs:
            found[h.id] = {by_case[ref] for ref in h.case_refs if ref in by_case}
        else:
            found[h.id] = {by_meeting[h.meeting_id]} if h.meeting_id in by_meeting else set()
    return found


def _may_decide(actor: Actor, area_ids: set[str]) -> bool:
    """An admin decides any hold; a coordinator those whose areas are all theirs."""
    if actor.role == "admin":
        return True
    return bool(area_ids) and all(actor.works_in(a) for a in area_ids)


@use_case("held.list", *ANY_STAFF)
async def list_holds(rt: Runtime, actor: Actor, status: str = "held") -> list[HeldDisclosure]:
    """Held disclosures (``status``: held, approved, rejected or all), oldest first: a
    coordinator's are those about their areas' cases; an admin's and a DPO's, all."""
    if status not in HOLD_STATUSES:
        raise ProtocolError(f"status is one of {', '.join(HOLD_STATUSES)}")
    async with rt.engine.connect() as conn:
        found = await list_held(conn, status=None if status == "all" else status)
        held_areas = await _areas_of(conn, found)
    return [
        replace(h, area_ids=tuple(sorted(held_areas[h.id])))
        for h in found
        if actor.role != "coordinator" or _may_decide(actor, held_areas[h.id])
    ]


async def _decidable(
    conn: AsyncConnection, actor: Actor, hold_id: str
) -> tuple[HeldDisclosure, set[str]]:
    """The hold, if ``actor`` may decide it (``forbidden``) and it is still held."""
    if not isinstance(hold_id, str):
        raise HubError("no such held disclosure", code="not-found")
    held = await get_held(conn, hold_id)
    area_ids = (await _areas_of(conn, [held]))[held.id]
    if not area_ids:
        require_role(actor, "admin")
    for area_id in sorted(area_ids):
        await require_area(conn, actor, area_id, write=True)
    if held.status != "held":
        raise HubError(f"this disclosure was already {held.status}", code="conflict")
    return held, area_ids


@use_case("held.approve", *WRITERS)
async def approve_hold(rt: Runtime, actor: Actor, hold_id: str) -> Disclosed:
    """Approve a held disclosure (a second person, where four eyes are on): checked
    again, then sealed, sent and logged with the approver and the requester. If the
    recipient may no longer receive it, the refusal is logged and raised; it stays held."""
    async with rt.engine.begin() as conn:
        held, area_ids = await _decidable(conn, actor, hold_id)
        if await four_eyes(conn, area_ids):
            require_other_person(actor, held.requested_by)
        outcome = await approve(conn, rt.context(), hold_id, by=actor.log_name)
    _wake(rt, [outcome])
    sent = refuse_unless_disclosed(outcome)
    assert isinstance(sent, Disclosed)
    return sent


@use_case("held.reject", *WRITERS)
async def reject_hold(rt: Runtime, actor: Actor, hold_id: str) -> None:
    """Reject a held disclosure: nothing is sent; who rejected it (and who had asked) is
    logged. Anyone who may decide it may reject it, the requester too."""
    async with rt.engine.begin() as conn:
        await _decidable(conn, actor, hold_id)
        await reject(conn, rt.context(), hold_id, by=actor.log_name)


@use_case("area.four-eyes", "admin")
async def set_four_eyes(rt: Runtime, actor: Actor, area_id: str, on: bool) -> bool:
    """Turn four eyes on or off for an area; the change is logged (a ``review`` entry,
    purpose ``four-eyes``, status ``on`` or ``off``)."""
    if not isinstance(on, bool):
        raise ProtocolError("on is true or false", code="wrong-type")
    now = rt.clock()
    async with rt.engine.begin() as conn:
        if not isinstance(area_id, str) or await get_area(conn, area_id) is None:
            raise HubError("no such area", code="not-found")
        await conn.execute(update(areas).where(areas.c.id == area_id).values(four_eyes=on))
        await append(
            conn,
            [
                LogEntry(
                    kind="review",
                    at=now,
                    actor=actor.log_name,
                    door=actor.door,
                    purpose="four-eyes",
                    fields=(f"areas.{area_id}.four_eyes",),
                    status="on" if on else "off",
                )
            ],
        )
    return on
