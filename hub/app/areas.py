"""Use-cases for MARAC areas: list (any staff; a coordinator sees their own), and for
admins only, add and change an area, link an agency to it, let a coordinator work in it."""

from __future__ import annotations

from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, use_case
from hub.app.runtime import Runtime
from hub.cases import areas as area_ops
from hub.cases.areas import Area
from hub.protocol.errors import ProtocolError

__all__ = ["Area", "add_area", "add_area_agency", "add_area_user", "list_areas", "set_area"]


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is a string", code="wrong-type")
    return value


@use_case("area.list", *ANY_STAFF)
async def list_areas(rt: Runtime, actor: Actor) -> list[Area]:
    """The areas: every one for an admin or a DPO, a coordinator's own for a coordinator."""
    only = set(actor.areas or ()) if actor.role == "coordinator" else None
    async with rt.engine.connect() as conn:
        return await area_ops.list_areas(conn, only)


@use_case("area.add", "admin")
async def add_area(
    rt: Runtime,
    actor: Actor,
    area_id: str,
    name: str,
    *,
    target_days: int | None = None,
    escalation_callouts: int | None = None,
    retention_years: int | None = None,
) -> Area:
    """Create an area with its rules (defaults: 42 days, 3 call-outs, 6 years)."""
    async with rt.engine.begin() as conn:
        return await area_ops.add_area(
            conn,
            _text(area_id, "id"),
            _text(name, "name"),
            now=rt.clock(),
            target_days=target_days,
            escalation_callouts=escalation_callouts,
            retention_years=retention_years,
        )


@use_case("area.set", "admin")
async def set_area(
    rt: Runtime,
    actor: Actor,
    area_id: str,
    *,
    name: str | None = None,
    target_days: int | None = None,
    escalation_callouts: int | None = None,
    retention_years: int | None = None,
) -> Area:
    """Change an area's name or rules."""
    async with rt.engine.begin() as conn:
        return await area_ops.set_area(
            conn,
            _text(area_id, "id"),
            name=name,
            target_days=target_days,
            escalation_callouts=escalation_callouts,
            retention_years=retention_years,
        )


@use_case("area.add-agency", "admin")
async def add_area_agency(rt: Runtime, actor: Actor, area_id: str, agency_id: str) -> None:
    """Record that an agency serves the area (idempotent)."""
    async with rt.engine.begin() as conn:
        await area_ops.add_agency(conn, _text(area_id, "area"), _text(agency_id, "agency"))


@use_case("area.add-user", "admin")
async def add_area_user(rt: Runtime, actor: Actor, area_id: str, user_name: str) -> None:
    """Let a coordinator work in the area (idempotent)."""
    async with rt.engine.begin() as conn:
        await area_ops.add_user(conn, _text(area_id, "area"), _text(user_name, "user"))
