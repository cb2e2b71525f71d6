"""Use-cases for agency administration: invite, list, approve, suspend, reinstate, revoke,
and each agency's delivery settings.

An agency is linked to the areas it serves (``agency_areas``). An admin administers every
agency; a coordinator only the agencies serving one of their areas
(``agency-outside-area`` otherwise, with nothing changed and nothing logged). Two rules
cover an agency serving several areas: a coordinator of ANY of them may suspend it
(suspension protects, and is hub-wide: the agency then receives nothing from any area),
but only someone responsible for ALL of them (a coordinator of every one, or an admin)
may reinstate it. Revoking is irreversible and for admins only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import (
    KINDS,
    Agency,
    agencies_with_keys,
    approve_in,
    change_status,
    invite_in,
)
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, WRITERS, use_case
from hub.app.rules import require_administers
from hub.app.runtime import Runtime
from hub.cases.areas import Area, add_agency, get_area, list_areas
from hub.cases.tables import agency_areas
from hub.delivery.configure import (
    MAX_CONFIG_BYTES,
    ChosenDelivery,
    parse_config,
    read_delivery,
    store_delivery,
)
from hub.delivery.settings import DeliverySettings, delivery_of
from hub.delivery.tables import alerts
from hub.policy.isp import IspStatus, IspVersion, check_version, isp_status, list_isp_versions
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "KINDS",
    "MAX_CONFIG_BYTES",
    "Agency",
    "AgencyListing",
    "AgencyPage",
    "Alert",
    "ChosenDelivery",
    "agency_page",
    "approve_agency",
    "invite_agency",
    "list_agencies",
    "open_alerts",
    "parse_config",
    "reinstate_agency",
    "revoke_agency",
    "set_delivery",
    "show_delivery",
    "suspend_agency",
]

MAX_AREAS: Final = 64


@dataclass(frozen=True, slots=True)
class AgencyListing:
    """The agencies an actor may see, and the areas each serves."""

    agencies: list[Agency]
    areas: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class AgencyPage:
    """What the agencies page shows: the listing, the current ISP and each agency's
    signature and delivery, the areas the actor may invite into, and what they may do."""

    listing: AgencyListing
    isp: IspVersion | None
    signed: dict[str, IspStatus]
    delivery: dict[str, DeliverySettings]
    my_areas: list[Area]
    may_revoke: bool


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is a string", code="wrong-type")
    return value


def _area_ids(areas: object) -> list[str]:
    if not isinstance(areas, list | tuple) or len(areas) > MAX_AREAS:
        raise ProtocolError("areas is a list of area ids", code="wrong-type")
    if not all(isinstance(a, str) for a in areas):
        raise ProtocolError("areas is a list of area ids", code="wrong-type")
    return sorted(set(areas))


async def _listing(conn: AsyncConnection, actor: Actor, rt: Runtime) -> AgencyListing:
    served: dict[str, set[str]] = {}
    for row in await conn.execute(select(agency_areas.c.agency_id, agency_areas.c.area_id)):
        served.setdefault(row.agency_id, set()).add(row.area_id)
    only = None
    if actor.role == "coordinator":
        mine = actor.areas or frozenset()
        only = sorted(agency for agency, areas in served.items() if areas & mine)
    found = await agencies_with_keys(conn, rt.clock(), only)
    return AgencyListing(found, {a.id: tuple(sorted(served.get(a.id, ()))) for a in found})


@use_case("agency.list", *ANY_STAFF)
async def list_agencies(rt: Runtime, actor: Actor) -> AgencyListing:
    """The agencies with status and fingerprints: a coordinator's, those serving their
    areas; an admin's or a DPO's, every one."""
    async with rt.engine.connect() as conn:
        return await _listing(conn, actor, rt)


@use_case("agency.page", *WRITERS)
async def agency_page(rt: Runtime, actor: Actor) -> AgencyPage:
    """The agencies page's data (see :class:`AgencyPage`), limited as ``agency.list``."""
    async with rt.engine.connect() as conn:
        listing = await _listing(conn, actor, rt)
        current, statuses = await isp_status(conn)
        delivery = {a.id: await delivery_of(conn, a.id) for a in listing.agencies}
        mine = None if actor.role == "admin" else set(actor.areas or ())
        areas = await list_areas(conn, mine)
    shown = {a.id for a in listing.agencies}
    return AgencyPage(
        listing,
        current,
        {s.agency_id: s for s in statuses if s.agency_id in shown},
        delivery,
        areas,
        actor.role == "admin",
    )


@use_case("agency.invite", *WRITERS)
async def invite_agency(
    rt: Runtime,
    actor: Actor,
    *,
    agency_id: str,
    name: str,
    kind: str,
    isp_version: str,
    isp_signed_by: str,
    isp_signed_on: date,
    areas: Sequence[str] = (),
) -> str:
    """Invite an agency and link it to the areas it serves (a coordinator names one or
    more of their own; an admin any, or none); returns the one-time enrolment code."""
    wanted = _area_ids(areas)
    if actor.role != "admin" and not wanted:
        raise ProtocolError("name the area (or areas) of yours it serves", code="missing-field")
    async with rt.engine.begin() as conn:
        for area in wanted:
            if not actor.works_in(area):
                raise HubError(
                    f"you do not coordinate area {area[:64]}", code="agency-outside-area"
                )
            if await get_area(conn, area) is None:
                raise HubError("no such area", code="not-found")
        code = await invite_in(
            conn,
            agency_id=_text(agency_id, "id"),
            name=_text(name, "name"),
            kind=_text(kind, "kind"),
            isp_version=_text(isp_version, "isp_version"),
            isp_signed_by=_text(isp_signed_by, "isp_signed_by"),
            isp_signed_on=isp_signed_on,
            now=rt.clock(),
        )
        await _require_published(conn, isp_version)  # after invite_in has checked the input
        for area in wanted:
            await add_agency(conn, area, agency_id)
    return code


async def _require_published(conn: AsyncConnection, version: str) -> None:
    """Refuse an ISP version never published: an agency 'signed' to it would be refused
    every disclosure (``isp-not-signed``) while it looked enrolled."""
    if check_version(version) not in {v.version for v in await list_isp_versions(conn)}:
        raise HubError(
            f"ISP version {version} is not published: an admin publishes it first "
            f"(marac-hub isp publish {version} --title TITLE)",
            code="not-found",
        )


@use_case("agency.approve", *WRITERS)
async def approve_agency(rt: Runtime, actor: Actor, agency_id: str, fingerprint: str) -> bool:
    """Approve an enrolled agency once the fingerprint it read out matches (an admin, or
    a coordinator of an area it serves). Returns whether it has signed the current ISP
    (until it has, every disclosure to it is refused)."""
    _text(fingerprint, "identity_fingerprint")
    async with rt.engine.begin() as conn:
        await require_administers(conn, actor, _text(agency_id, "agency"))
        await approve_in(
            conn, agency_id, fingerprint, by=actor.log_name, now=rt.clock(), door=actor.door
        )
        _, statuses = await isp_status(conn)
    return any(s.agency_id == agency_id and s.current for s in statuses)


async def _change(
    rt: Runtime, actor: Actor, agency_id: str, status: str, *, every_area: bool = False
) -> None:
    async with rt.engine.begin() as conn:
        await require_administers(conn, actor, _text(agency_id, "agency"), every_area=every_area)
        await change_status(
            conn, agency_id, status, now=rt.clock(), actor=actor.log_name, door=actor.door
        )


@use_case("agency.suspend", *WRITERS)
async def suspend_agency(rt: Runtime, actor: Actor, agency_id: str) -> None:
    """Suspend an agency: it receives nothing, from any area, until reinstated (an admin,
    or a coordinator of ANY area it serves: suspension protects)."""
    await _change(rt, actor, agency_id, "suspended")


@use_case("agency.reinstate", *WRITERS)
async def reinstate_agency(rt: Runtime, actor: Actor, agency_id: str) -> None:
    """Reinstate a suspended agency (an admin, or a coordinator of EVERY area it serves)."""
    await _change(rt, actor, agency_id, "active", every_area=True)


@use_case("agency.revoke", "admin")
async def revoke_agency(rt: Runtime, actor: Actor, agency_id: str) -> None:
    """Revoke an agency and all its keys, for good (admins only: it cannot be undone)."""
    await _change(rt, actor, agency_id, "revoked")


@use_case("agency.delivery.show", *WRITERS)
async def show_delivery(rt: Runtime, actor: Actor, agency_id: str) -> ChosenDelivery:
    """The agency's transport, format and settings, secrets hidden (an admin, or a
    coordinator of an area it serves)."""
    async with rt.engine.connect() as conn:
        await require_administers(conn, actor, _text(agency_id, "agency"))
        return await read_delivery(conn, rt.keys.kek, agency_id)


@use_case("agency.delivery.set", *WRITERS)
async def set_delivery(
    rt: Runtime,
    actor: Actor,
    agency_id: str,
    *,
    transport: str,
    format: str,
    config: Mapping[str, Any],
) -> ChosenDelivery:
    """Choose the agency's transport and format (checked by the transport); who chose
    them is kept with them (an admin, or a coordinator of an area it serves)."""
    from hub.app.transports import registry_for  # noqa: PLC0415 (aiohttp: not for every command)

    async with rt.engine.begin() as conn:
        await require_administers(conn, actor, _text(agency_id, "agency"))
        chosen = await store_delivery(
            conn,
            rt.keys.kek,
            registry_for(rt.settings),
            agency_id,
            transport=transport,
            format=format,
            config=config,
            by=actor.log_name,
            now=rt.clock(),
        )
    rt.wake([agency_id])
    return chosen


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a coordinator must look at (an envelope that expired undelivered)."""

    id: int
    kind: str
    agency_id: str | None
    envelope_id: str | None
    created_at: datetime


@use_case("alert.list", *WRITERS)
async def open_alerts(rt: Runtime, actor: Actor) -> list[Alert]:
    """Open alerts, oldest first: an admin's, all; a coordinator's, those about the
    agencies serving their areas."""
    query = select(alerts).where(alerts.c.resolved_at.is_(None)).order_by(alerts.c.id)
    if actor.role != "admin":
        mine = sorted(actor.areas or ())
        theirs = select(agency_areas.c.agency_id).where(agency_areas.c.area_id.in_(mine))
        query = query.where(alerts.c.agency_id.in_(theirs))
    async with rt.engine.connect() as conn:
        rows = await conn.execute(query)
        return [Alert(r.id, r.kind, r.agency_id, r.envelope_id, r.created_at) for r in rows]
