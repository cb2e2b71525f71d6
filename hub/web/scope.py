"""Which areas a member of staff works in (coordinators: their own; others: all)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases.areas import Area, list_areas, user_area_ids
from hub.users import StaffUser

__all__ = ["my_areas"]


async def my_areas(conn: AsyncConnection, user: StaffUser) -> list[Area]:
    """The areas whose cases ``user`` may work on (a DPO reads every area)."""
    only = await user_area_ids(conn, user.name) if user.role == "coordinator" else None
    return await list_areas(conn, only)
