"""Use-cases for staff users (admins only): add (the token shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime

from hub.app.actor import Actor
from hub.app.catalogue import use_case
from hub.app.runtime import Runtime
from hub.protocol.errors import ProtocolError
from hub.signin.passwords import set_password as store_password
from hub.users import ROLES, StaffUser
from hub.users import add_user as store_user
from hub.users import list_users as stored_users
from hub.users import revoke_user as store_revocation

__all__ = ["ROLES", "StaffUser", "add_user", "list_users", "revoke_user", "set_password"]


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is a string", code="wrong-type")
    return value


@use_case("user.add", "admin")
async def add_user(
    rt: Runtime, actor: Actor, name: str, role: str, *, expires_at: datetime | None = None
) -> str:
    """Add a member of staff; returns their first bearer token (shown once, stored hashed,
    expiring at ``expires_at``: by default in 90 days)."""
    return await store_user(
        rt.engine,
        _text(name, "name"),
        _text(role, "role"),
        now=rt.clock(),
        expires_at=expires_at,
        created_by=actor.log_name,
    )


@use_case("user.list", "admin")
async def list_users(rt: Runtime, actor: Actor) -> list[StaffUser]:
    """Every member of staff, revoked ones included."""
    return await stored_users(rt.engine)


@use_case("user.revoke", "admin")
async def revoke_user(rt: Runtime, actor: Actor, name: str) -> None:
    """Revoke a member of staff's token: their requests are refused from now on."""
    await store_revocation(rt.engine, _text(name, "name"), now=rt.clock())


@use_case("user.passwd", "admin")
async def set_password(rt: Runtime, actor: Actor, name: str, password: str) -> None:
    """Set a member of staff's web password (Argon2id); their open web sessions end."""
    await store_password(
        rt.engine,
        _text(name, "name"),
        _text(password, "password"),
        now=rt.clock(),
        strength=rt.settings.password_strength,
    )
