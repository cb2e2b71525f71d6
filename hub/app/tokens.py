"""Staff bearer tokens: the member of staff an API request's ``Authorization`` names."""

from __future__ import annotations

from hub.users import StaffUser, TokenCache

__all__ = ["StaffUser", "TokenCache", "bearer_user"]


async def bearer_user(cache: TokenCache, authorization: str) -> StaffUser | None:
    """The active member of staff whose token ``Authorization: Bearer <token>`` carries,
    or None (no header, another scheme, or a token that is unknown or revoked)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return await cache.authenticate(token.strip())
