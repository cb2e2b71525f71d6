"""WebAuthn passkeys as a second factor (``webauthn``, py_webauthn).

The hub is the relying party named by its public URL (``MARAC_HUB_PUBLIC_URL``). Every
ceremony's challenge is made here and kept server-side, bound to the login attempt or
session it was made for (by the SHA-256 of that token), for two minutes, and deleted when
it is answered: a challenge is good for one answer, by that browser, soon. Passkeys are
not discoverable (the user has given their name and password already) and user
verification is preferred, not required: the passkey is the second factor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import webauthn
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hub.signin.sessions import aware
from hub.signin.tables import staff_passkeys, webauthn_challenges

__all__ = [
    "MAX_CREDENTIAL",
    "Passkey",
    "RelyingParty",
    "authenticate",
    "authentication_options",
    "passkeys_of",
    "register",
    "registration_options",
    "remove_passkey",
    "remove_passkeys",
]

CHALLENGE_LIFETIME: Final = timedelta(minutes=2)
MAX_CREDENTIAL: Final = 16_000  # characters of a browser's JSON answer
MAX_PASSKEYS: Final = 10
_TIMEOUT_MS: Final = 60_000


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """The hub as WebAuthn sees it: its RP id (a host name), origin and display name."""

    id: str
    origin: str
    name: str


@dataclass(frozen=True, slots=True)
class Passkey:
    """A registered passkey as its owner sees it."""

    credential_id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None


def _user_handle(name: str) -> bytes:
    """An opaque WebAuthn user handle (no name on the authenticator but the label)."""
    return hashlib.sha256(f"marac-hub staff\0{name}".encode()).digest()


async def _keep_challenge(
    conn: AsyncConnection, owner: str, name: str, purpose: str, challenge: bytes, now: datetime
) -> None:
    await conn.execute(
        delete(webauthn_challenges).where(
            (webauthn_challenges.c.owner_sha256 == owner) | (webauthn_challenges.c.expires_at < now)
        )
    )
    await conn.execute(
        webauthn_challenges.insert().values(
            owner_sha256=owner,
            user_name=name,
            purpose=purpose,
            challenge=challenge,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    )


async def _take_challenge(
    conn: AsyncConnection, owner: str, name: str, purpose: str, now: datetime
) -> bytes | None:
    """The live challenge made for ``owner``, deleted as it is read (single use)."""
    row = (
        await conn.execute(
            select(webauthn_challenges.c.challenge, webauthn_challenges.c.expires_at).where(
                webauthn_challenges.c.owner_sha256 == owner,
                webauthn_challenges.c.user_name == name,
                webauthn_challenges.c.purpose == purpose,
            )
        )
    ).first()
    if row is None:
        return None
    done = await conn.execute(
        delete(webauthn_challenges).where(
            webauthn_challenges.c.owner_sha256 == owner,
            webauthn_challenges.c.challenge == row.challenge,
        )
    )
    if done.rowcount != 1 or aware(row.expires_at) <= now:
        return None
    return bytes(row.challenge)


async def passkeys_of(conn: AsyncConnection, name: str) -> list[Passkey]:
    """``name``'s passkeys, oldest first."""
    rows = await conn.execute(
        select(staff_passkeys)
        .where(staff_passkeys.c.user_name == name)
        .order_by(staff_passkeys.c.created_at)
    )
    return [Passkey(r.credential_id, r.label, r.created_at, r.last_used_at) for r in rows]


async def registration_options(
    conn: AsyncConnection, name: str, owner: str, rp: RelyingParty, *, now: datetime
) -> str:
    """The JSON options for ``navigator.credentials.create``; the challenge is kept for
    ``owner`` (the SHA-256 of the session's token)."""
    existing = await passkeys_of(conn, name)
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=name,
        user_id=_user_handle(name),
        user_display_name=name,
        timeout=_TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(p.credential_id))
            for p in existing
        ],
    )
    await _keep_challenge(conn, owner, name, "register", options.challenge, now)
    return webauthn.options_to_json(options)


async def register(
    conn: AsyncConnection,
    name: str,
    owner: str,
    credential: str,
    label: str,
    rp: RelyingParty,
    *,
    now: datetime,
) -> bool:
    """Verify a browser's answer to the registration challenge kept for ``owner`` and
    store the passkey; False if the answer, challenge or origin is wrong."""
    challenge = await _take_challenge(conn, owner, name, "register", now)
    if challenge is None or len(credential) > MAX_CREDENTIAL:
        return False
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return False
    credential_id = bytes_to_base64url(verified.credential_id)
    taken = await conn.scalar(
        select(staff_passkeys.c.user_name).where(staff_passkeys.c.credential_id == credential_id)
    )
    if taken is not None or len(await passkeys_of(conn, name)) >= MAX_PASSKEYS:
        return False
    await conn.execute(
        staff_passkeys.insert().values(
            credential_id=credential_id,
            user_name=name,
            label=label[:64],
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            created_at=now,
        )
    )
    return True


async def authentication_options(
    conn: AsyncConnection, name: str, owner: str, rp: RelyingParty, *, now: datetime
) -> str | None:
    """The JSON options for ``navigator.credentials.get`` naming ``name``'s passkeys (None
    if they have none); the challenge is kept for ``owner`` (the login attempt)."""
    existing = await passkeys_of(conn, name)
    if not existing:
        return None
    options = webauthn.generate_authentication_options(
        rp_id=rp.id,
        timeout=_TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(p.credential_id))
            for p in existing
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    await _keep_challenge(conn, owner, name, "login", options.challenge, now)
    return webauthn.options_to_json(options)


async def authenticate(
    conn: AsyncConnection,
    name: str,
    owner: str,
    credential: str,
    rp: RelyingParty,
    *,
    now: datetime,
) -> bool:
    """True if ``credential`` answers the challenge kept for ``owner`` with one of
    ``name``'s passkeys (its signature count moving on); the challenge is used up."""
    challenge = await _take_challenge(conn, owner, name, "login", now)
    if challenge is None or len(credential) > MAX_CREDENTIAL:
        return False
    try:
        parsed = parse_authentication_credential_json(credential)
        row = (
            await conn.execute(
                select(staff_passkeys).where(
                    staff_passkeys.c.credential_id == bytes_to_base64url(parsed.raw_id),
                    staff_passkeys.c.user_name == name,
                )
            )
        ).first()
        if row is None:
            return False
        verified = webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=bytes(row.public_key),
            credential_current_sign_count=row.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return False
    done = await conn.execute(
        update(staff_passkeys)
        .where(
            staff_passkeys.c.credential_id == row.credential_id,
            staff_passkeys.c.sign_count == row.sign_count,
        )
        .values(sign_count=verified.new_sign_count, last_used_at=now)
    )
    return done.rowcount == 1


async def remove_passkey(conn: AsyncConnection, name: str, credential_id: str) -> bool:
    """Remove one of ``name``'s passkeys; True if it was theirs."""
    done = await conn.execute(
        delete(staff_passkeys).where(
            staff_passkeys.c.user_name == name, staff_passkeys.c.credential_id == credential_id
        )
    )
    return done.rowcount == 1


async def remove_passkeys(conn: AsyncConnection, name: str) -> int:
    """Remove all of ``name``'s passkeys and their pending challenges; how many."""
    await conn.execute(delete(webauthn_challenges).where(webauthn_challenges.c.user_name == name))
    done = await conn.execute(delete(staff_passkeys).where(staff_passkeys.c.user_name == name))
    return int(done.rowcount or 0)
