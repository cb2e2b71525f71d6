"""Use-cases for referrals and cases: refer, list, show (logged as an access), legal hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency, get_agencies
from hub.app.access import record_access
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, WRITERS, use_case
from hub.app.rules import agency_area_ids, require_area
from hub.app.runtime import Runtime
from hub.cases.amend import Amendment, amend_referral, amendment_history, referral_of
from hub.cases.areas import Area, agencies_serving, list_areas
from hub.cases.referral import ANSWERS, MAX_CHILDREN, parse_referral
from hub.cases.store import Case, CaseSummary, Referred, case_area, list_cases, load_case, refer
from hub.cases.store import set_hold as store_hold
from hub.cases.tables import cases
from hub.log import LogEntry, append
from hub.meetings import actions as action_ops
from hub.meetings.amendments import resend_amended
from hub.meetings.rules import referral_clock
from hub.meetings.sending import SendResult
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "ANSWERS",
    "MAX_CHILDREN",
    "STATUSES",
    "AmendResult",
    "Amendment",
    "Case",
    "CasePage",
    "ReferralDocument",
    "amend_case",
    "amendments_of",
    "case_page",
    "referral_agencies",
    "referral_document",
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
        await require_referring_agency(conn, referral.referring_agency, area)
        return await refer(conn, rt.keys, referral, area=area, actor=actor.log_name, now=now)


async def require_referring_agency(conn: AsyncConnection, agency_id: str, area: str) -> None:
    """Refuse (``invalid-referral``) a referring agency that is not enrolled with the hub
    or does not serve the area."""
    if area not in await agency_area_ids(conn, agency_id):
        raise ProtocolError(
            "invalid referral: referring_agency: not an agency enrolled in this area",
            code="invalid-referral",
        )


@use_case("case.referral-agencies", *WRITERS)
async def referral_agencies(rt: Runtime, actor: Actor) -> list[tuple[Area, list[Agency]]]:
    """The areas ``actor`` works in, each with its active agencies (who may refer)."""
    async with rt.engine.connect() as conn:
        only = set(actor.areas or ()) if actor.role != "admin" else None
        out = []
        for area in await list_areas(conn, only):
            found = await get_agencies(conn, await agencies_serving(conn, area.id))
            out.append((area, [a for _, a in sorted(found.items()) if a.status == "active"]))
        return out


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
    """What the case page shows: the case, its area, its actions, a repeat's earlier plan,
    the referral's amendments."""

    case: Case
    area: Area
    actions: list[action_ops.Action]
    previous: list[action_ops.Action] | None
    previous_area: str | None
    today: date
    amendments: list[Amendment] = field(default_factory=list)


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
        history = await amendment_history(conn, ref)
    return CasePage(case, area, mine, previous, previous_area, today, history)


@dataclass(frozen=True, slots=True)
class ReferralDocument:
    """A case's referral as the document the API takes, and the case's area."""

    ref: str
    area: str
    document: dict[str, Any]


@use_case("case.referral", *WRITERS)
async def referral_document(rt: Runtime, actor: Actor, ref: str) -> ReferralDocument:
    """The case's referral as the document the API takes (to amend it); logged as an
    ``access`` entry."""
    async with rt.engine.begin() as conn:
        area = await require_area(conn, actor, await case_area(conn, ref), write=True)
        doc = await referral_of(conn, rt.keys, ref)
        await record_access(conn, actor, [ref], purpose="view", what=["referral"], now=rt.clock())
    return ReferralDocument(ref, area.id, doc)


@dataclass(frozen=True, slots=True)
class AmendResult:
    """An amendment: the version it made, the fields it changed, what was re-sent."""

    case_ref: str
    version: int
    fields: tuple[str, ...]
    resent: list[SendResult]

    def as_json(self) -> dict[str, Any]:
        """As the API shows it: field names, agency ids and outcomes only."""
        return {
            "case_ref": self.case_ref,
            "version": self.version,
            "fields": list(self.fields),
            "resent": [o.as_json() for o in self.resent],
        }


@use_case("case.amend", *WRITERS)
async def amend_case(
    rt: Runtime, actor: Actor, ref: str, patch: Any, *, whole: bool = False
) -> AmendResult:
    """Amend a case's referral (a coordinator of its area, or an admin): ``patch`` is a
    merge patch over the referral; every version is kept; the amendment is logged (field
    names only); where the case is on a published agenda, the amended extract is re-sent
    to each agency whose agenda rule covers a changed field (``whole``: ``patch`` is the
    whole new referral, as the web form sends it)."""
    now = rt.clock()
    async with rt.engine.begin() as conn:
        area = await require_area(conn, actor, await case_area(conn, ref), write=True)
        before = await conn.scalar(select(cases.c.referring_agency).where(cases.c.ref == ref))
        done = await amend_referral(
            conn,
            rt.keys,
            area,
            ref,
            patch,
            actor=actor.log_name,
            door=actor.door,
            now=now,
            whole=whole,
        )
        after = await conn.scalar(select(cases.c.referring_agency).where(cases.c.ref == ref))
        if after != before:
            await require_referring_agency(conn, str(after), area.id)
        await append(
            conn,
            [
                LogEntry(
                    kind="amendment",
                    at=now,
                    actor=actor.log_name,
                    door=actor.door,
                    case_refs=(ref,),
                    fields=done.fields,
                    status=f"version {done.version}",
                )
            ],
        )
        case = await load_case(conn, rt.keys, ref)
        resent = await resend_amended(
            conn, rt.context(now), case, done.fields, version=done.version, actor=actor.log_name
        )
    rt.wake(o.agency for o in resent if o.kind == "disclosed")
    return AmendResult(ref, done.version, done.fields, resent)


@use_case("case.amendments", *ANY_STAFF)
async def amendments_of(rt: Runtime, actor: Actor, ref: str) -> list[Amendment]:
    """A case's amendments, oldest first: who, when, through which door, which fields
    (names only: DPOs may read)."""
    async with rt.engine.connect() as conn:
        await require_area(conn, actor, await case_area(conn, ref))
        return await amendment_history(conn, ref)


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
