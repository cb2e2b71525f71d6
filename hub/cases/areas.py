"""MARAC areas: their rules, the agencies serving them and the coordinators working in them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies.tables import agencies
from hub.cases.tables import agency_areas, areas, user_areas
from hub.protocol.errors import HubError, ProtocolError
from hub.users.tables import users

__all__ = [
    "Area",
    "add_agency",
    "add_area",
    "add_user",
    "agencies_serving",
    "get_area",
    "list_areas",
    "set_area",
    "user_area_ids",
]

_ID: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LIMITS: Final = {
    "target_days": (1, 365),
    "escalation_callouts": (1, 100),
    "retention_years": (1, 100),
}


@dataclass(frozen=True, slots=True)
class Area:
    """One MARAC area and its rules."""

    id: str
    name: str
    target_days: int = 42
    escalation_callouts: int = 3
    retention_years: int = 6
    four_eyes: bool = True  # a held disclosure or an override needs a second person

    def as_json(self) -> dict[str, Any]:
        """The area as the API shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "target_days": self.target_days,
            "escalation_callouts": self.escalation_callouts,
            "retention_years": self.retention_years,
            "four_eyes": self.four_eyes,
        }


def _area(row: Any) -> Area:
    return Area(
        row.id,
        row.name,
        row.target_days,
        row.escalation_callouts,
        row.retention_years,
        bool(row.four_eyes),
    )


def _check_rules(rules: dict[str, int | None]) -> dict[str, int]:
    out = {}
    for name, value in rules.items():
        if value is None:
            continue
        low, high = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ProtocolError(f"{name} must be a whole number from {low} to {high}")
        out[name] = value
    return out


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ProtocolError("an area name is 1-200 characters")
    return name


async def add_area(
    conn: AsyncConnection,
    area_id: str,
    name: str,
    *,
    now: datetime,
    target_days: int | None = None,
    escalation_callouts: int | None = None,
    retention_years: int | None = None,
) -> Area:
    """Create an area (``conflict`` if the id is taken)."""
    if not isinstance(area_id, str) or not _ID.match(area_id):
        raise ProtocolError("an area id is 1-64 lower-case letters, digits, '-', '.', '_'")
    rules = _check_rules(
        {
            "target_days": target_days,
            "escalation_callouts": escalation_callouts,
            "retention_years": retention_years,
        }
    )
    if await conn.scalar(select(areas.c.id).where(areas.c.id == area_id)):
        raise HubError(f"area {area_id} already exists", code="conflict")
    await conn.execute(
        areas.insert().values(id=area_id, name=_check_name(name), created_at=now, **rules)
    )
    area = await get_area(conn, area_id)
    assert area is not None
    return area


async def set_area(
    conn: AsyncConnection,
    area_id: str,
    *,
    name: str | None = None,
    target_days: int | None = None,
    escalation_callouts: int | None = None,
    retention_years: int | None = None,
) -> Area:
    """Change an area's name or rules."""
    values: dict[str, Any] = _check_rules(
        {
            "target_days": target_days,
            "escalation_callouts": escalation_callouts,
            "retention_years": retention_years,
        }
    )
    if name is not None:
        values["name"] = _check_name(name)
    await _existing(conn, area_id)
    if values:
        await conn.execute(update(areas).where(areas.c.id == area_id).values(**values))
    area = await get_area(conn, area_id)
    assert area is not None
    return area


async def get_area(conn: AsyncConnection, area_id: str) -> Area | None:
    """One area, or None."""
    row = (await conn.execute(select(areas).where(areas.c.id == area_id))).first()
    return None if row is None else _area(row)


async def _existing(conn: AsyncConnection, area_id: str) -> Area:
    area = await get_area(conn, area_id)
    if area is None:
        raise HubError("no such area", code="not-found")
    return area


async def list_areas(conn: AsyncConnection, only: set[str] | None = None) -> list[Area]:
    """Every area (or only those in ``only``), by id."""
    rows = (await conn.execute(select(areas).order_by(areas.c.id))).all()
    return [_area(r) for r in rows if only is None or r.id in only]


async def add_agency(conn: AsyncConnection, area_id: str, agency_id: str) -> None:
    """Record that ``agency_id`` serves ``area_id`` (idempotent)."""
    await _existing(conn, area_id)
    if not await conn.scalar(select(agencies.c.id).where(agencies.c.id == agency_id)):
        raise HubError("no such agency", code="not-found")
    found = await conn.scalar(
        select(agency_areas.c.agency_id).where(
            agency_areas.c.area_id == area_id, agency_areas.c.agency_id == agency_id
        )
    )
    if found is None:
        await conn.execute(agency_areas.insert().values(area_id=area_id, agency_id=agency_id))


async def add_user(conn: AsyncConnection, area_id: str, user_name: str) -> None:
    """Let coordinator ``user_name`` work in ``area_id`` (idempotent)."""
    await _existing(conn, area_id)
    role = await conn.scalar(select(users.c.role).where(users.c.name == user_name))
    if role is None:
        raise HubError("no such user", code="not-found")
    if role != "coordinator":
        raise ProtocolError("only coordinators are given areas (admins and DPOs see all)")
    found = await conn.scalar(
        select(user_areas.c.user_name).where(
            user_areas.c.area_id == area_id, user_areas.c.user_name == user_name
        )
    )
    if found is None:
        await conn.execute(user_areas.insert().values(area_id=area_id, user_name=user_name))


async def agencies_serving(conn: AsyncConnection, area_id: str) -> list[str]:
    """The ids of the agencies serving ``area_id``, sorted."""
    rows = await conn.execute(
        select(agency_areas.c.agency_id)
        .where(agency_areas.c.area_id == area_id)
        .order_by(agency_areas.c.agency_id)
    )
    return [r.agency_id for r in rows]


async def user_area_ids(conn: AsyncConnection, user_name: str) -> set[str]:
    """The areas a coordinator works in."""
    rows = await conn.execute(
        select(user_areas.c.area_id).where(user_areas.c.user_name == user_name)
    )
    return {r.area_id for r in rows}
