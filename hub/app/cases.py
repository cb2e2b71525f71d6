"""Use-cases for referrals and cases: refer, list, show (logged as an access), legal hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.app.access import record_access
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, WRITERS, use_case
from hub.app.rules import require_area
from hub.app.runtime import Runtime
from hub.cases.areas import Area
from hub.cases.referral import ANSWERS, MAX_CHILDREN, parse_referral
from hub.cases.store import Case, CaseSummary, Referred, case_area, list_cases, load_case, refer
from hub.cases.store import set_hold as store_hold
from hub.meetings import actions as action_ops
from hub.meetings.rules import referral_clock
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "ANSWERS",
    "MAX_CHILDREN",
    "STATUSES",
    "Case",
    "CasePage",
    "case_page",
    "list_area_cases",
    "referral_clock",
    "refer_case",
    "set_legal_hold",
    "show_case",
]

STATUSES = ("referred", "heard", "destroyed")


@use_case("case.refer", *WRITERS)
async def refer_case(rt: Runtime, actor: Actor, area: str, document: Any) -> Referred:
    """Take a referral into ``area`` (a coordinator of the area, or an admin)."""
    if not isinstance(area, str):
        raise ProtocolError("area is a string", code="wrong-type")
    now = rt.clock()
    async with rt.engine.begin() as conn:
        await require_area(conn, actor, area, write=True)
        referral = parse_referral(document, today=now.date())
        return await refer(conn, rt.keys, referral, area=area, actor=actor.log_name, now=now)


@use_case("case.list", *ANY_STAFF)
async def list_area_cases(
    rt: Runtime, actor: Actor, area: str, status: str | None = None
) -> list[CaseSummary]:
    """An area's cases, children's first; nothing about any person (DPOs may read)."""
    if status is not None and status not in STATUSES:
        raise ProtocolError(f"status is one of {', '.join(STATUSES)}")
    async with rt.engine.connect() as conn:
        await require_area(conn, actor, area)
        return await list_cases(conn, area, status)


@use_case("case.show", *WRITERS)
async def show_case(rt: Runtime, actor: Actor, ref: str) -> Case:
    """One case, decrypted, for a coordinator of its area or an admin; the reading is
    logged as an ``access`` entry in the same transaction (no entry, no data)."""
    async with rt.engine.begin() as conn:
        await require_area(conn, actor, await case_area(conn, ref), write=True)
        case = await load_case(conn, rt.keys, ref)
        await record_access(conn, actor, [ref], purpose="view", what=["case"], now=rt.clock())
    return case


@dataclass(frozen=True, slots=True)
class CasePage:
    """What the case page shows: the case, its area, its actions, a repeat's earlier plan."""

    case: Case
    area: Area
    actions: list[action_ops.Action]
    previous: list[action_ops.Action] | None
    previous_area: str | None
    today: date


@use_case("case.page", *WRITERS)
async def case_page(rt: Runtime, actor: Actor, ref: str) -> CasePage:
    """The case page's data (see :class:`CasePage`), logged as one ``access`` entry."""
    now = rt.clock()
    today = now.date()
    read = ["case", "actions"]
    async with rt.engine.begin() as conn:
        area = await require_area(conn, actor, await case_area(conn, ref), write=True)
        case = await load_case(conn, rt.keys, ref)
        found = await action_ops.find_actions(conn, rt.keys, areas=[area.id], today=today)
        mine = [a for a in found if a.case_ref == ref]
        previous: list[action_ops.Action] | None = None
        previous_area = None
        if case.previous_ref:
            previous_area = await case_area(conn, case.previous_ref)
            if actor.works_in(previous_area):
                earlier = await action_ops.find_actions(
                    conn, rt.keys, areas=[previous_area], today=today
                )
                previous = [a for a in earlier if a.case_ref == case.previous_ref]
                read.append("previous-actions")
        await record_access(conn, actor, [ref], purpose="view", what=read, now=now)
    return CasePage(case, area, mine, previous, previous_area, today)


@use_case("case.hold", *WRITERS)
async def set_legal_hold(rt: Runtime, actor: Actor, ref: str, reason: str | None) -> None:
    """Put a case on legal hold with ``reason``, or release it (``None``)."""
    async with rt.engine.begin() as conn:
        await require_area(conn, actor, await case_area(conn, ref), write=True)
        await store_hold(conn, rt.keys, ref, reason)


def require_case_ref(value: object) -> str:
    """A case ref given as a string (``not-found`` for anything else)."""
    if not isinstance(value, str):
        raise HubError("no such case", code="not-found")
    return value
