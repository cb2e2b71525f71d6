"""From a door's credentials to an :class:`Actor`: the member of staff's role and areas."""

from __future__ import annotations

from sqlalchemy import select

from hub.app.actor import Actor, Door, operator
from hub.app.runtime import Runtime
from hub.cases.areas import user_area_ids
from hub.protocol.errors import HubError
from hub.users import StaffUser
from hub.users.tables import users

__all__ = ["actor_for", "cli_actor"]


async def actor_for(rt: Runtime, user: StaffUser, door: Door) -> Actor:
    """The actor for an authenticated member of staff (a coordinator's areas read now).
    Through a narrowed API token, the token's role, and only those of its areas the user
    works in now (an admin works in every area)."""
    areas: frozenset[str] | None = None
    if user.role == "coordinator":
        if (user.account_role or user.role) == "coordinator":
            async with rt.engine.connect() as conn:
                areas = frozenset(await user_area_ids(conn, user.name))
            if user.area_limit is not None:
                areas &= user.area_limit
        else:
            areas = user.area_limit or frozenset()
    return Actor(name=user.name, role=user.role, areas=areas, door=door)


async def cli_actor(rt: Runtime, by: str | None) -> Actor:
    """Who a command acts as: ``--by NAME`` names an active member of staff, whose role and
    areas then apply; without it, the host's operator (an admin: it holds the keys)."""
    if by is None or by == "cli":
        return operator()
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(users).where(users.c.name == by))).first()
    if row is None or row.revoked_at is not None:
        raise HubError(f"--by {by[:64]!r} is not an active member of staff", code="unauthorized")
    return await actor_for(rt, StaffUser(row.name, row.role, row.created_at), "cli")
