"""The rules every use-case applies: role, area (read or write), recipients' areas and the
second pair of eyes. Each refusal has a problem type of its own."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.app.actor import Actor
from hub.cases.areas import Area, get_area
from hub.cases.tables import agency_areas
from hub.protocol.errors import HubError, PolicyError

__all__ = [
    "agency_area_ids",
    "require_administers",
    "require_area",
    "require_other_person",
    "require_role",
    "require_serves",
]

STAFF = ("admin", "coordinator", "dpo")


def require_role(actor: Actor, *roles: str) -> None:
    """Refuse (``forbidden``) unless ``actor`` holds one of ``roles``."""
    if actor.role not in roles:
        raise HubError(f"role {actor.role} may not do this", code="forbidden")


async def require_area(
    conn: AsyncConnection, actor: Actor, area_id: str, *, write: bool = False
) -> Area:
    """The area, if ``actor`` may read (or, ``write``, change) it.

    An admin works in every area; a coordinator only in their own; a DPO reads every
    area's pseudonymous lists and never writes. ``not-found`` for no such area.
    """
    area = await get_area(conn, area_id) if isinstance(area_id, str) else None
    if area is None:
        raise HubError("no such area", code="not-found")
    if actor.works_in(area_id) or (actor.role == "dpo" and not write):
        return area
    raise HubError("you do not work in this area", code="forbidden")


async def agency_area_ids(conn: AsyncConnection, agency_id: str) -> frozenset[str]:
    """The areas an agency serves."""
    rows = await conn.execute(
        select(agency_areas.c.area_id).where(agency_areas.c.agency_id == agency_id)
    )
    return frozenset(r.area_id for r in rows)


async def require_serves(conn: AsyncConnection, agency_ids: Iterable[str], area_id: str) -> None:
    """Refuse (``recipient-outside-area``) if any of ``agency_ids`` does not serve the area."""
    for agency_id in agency_ids:
        if area_id not in await agency_area_ids(conn, agency_id):
            raise PolicyError(
                f"agency {agency_id} does not serve area {area_id}: nothing was sent",
                code="recipient-outside-area",
            )


async def require_administers(
    conn: AsyncConnection, actor: Actor, agency_id: str, *, every_area: bool = False
) -> frozenset[str]:
    """The agency's areas, if ``actor`` administers it: an admin always; a coordinator
    when the agency serves one of their areas (``every_area``: only their areas)."""
    served = await agency_area_ids(conn, agency_id)
    if actor.role == "admin":
        return served
    require_role(actor, "coordinator")
    mine = actor.areas or frozenset()
    if (every_area and served and served <= mine) or (not every_area and served & mine):
        return served
    raise HubError(
        "this agency does not serve your areas only"
        if every_area and served & mine
        else "this agency serves none of your areas",
        code="agency-outside-area",
    )


def require_other_person(actor: Actor, requested_by: str) -> None:
    """Four eyes: refuse (``self-approval``) when the approver asked for it themself."""
    if requested_by in (actor.log_name, actor.name):
        raise HubError("a second person must approve what you asked for", code="self-approval")
