"""Agencies: invitation, enrolment, approval, suspension, revocation and their keys."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub import log as disclosure_log  # its modules load when an entry is written
from hub.agencies.tables import agencies, agency_keys
from hub.crypto.announce import SignedKeyAnnouncement, verify_announcement
from hub.crypto.keys import EncryptionPublicKey, IdentityPublicKey
from hub.protocol.agency_kinds import AgencyKind
from hub.protocol.canonical import b64decode
from hub.protocol.errors import CryptoError, HubError, PolicyError, ProtocolError
from hub.secrets import check_off_loop, hash_secret, new_secret

if TYPE_CHECKING:
    from hub.log.entries import LogEntry

IDENTITY_SUITE: Final = "ed25519"
Door = Literal["api", "web", "cli"]

__all__ = [
    "KINDS",
    "Agency",
    "active_agencies",
    "agency_from_row",
    "agencies_with_keys",
    "approve",
    "approve_in",
    "change_status",
    "check_invitation",
    "enrol",
    "get_agencies",
    "get_agency",
    "invite",
    "invite_in",
    "list_agencies",
    "newest_key",
    "newest_keys",
    "register_key",
    "set_status",
]

KINDS: Final = get_args(AgencyKind)
CODE_VALIDITY: Final = timedelta(days=7)
_ID_CHARS: Final = set("abcdefghijklmnopqrstuvwxyz0123456789-._")


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency as the hub knows it."""

    id: str
    name: str
    kind: str
    status: str
    isp_version: str
    isp_signed_by: str
    isp_signed_on: date
    identity_fingerprint: str | None
    identity_key: bytes | None
    encryption_fingerprint: str | None = None


def agency_from_row(row: Any, encryption_fingerprint: str | None = None) -> Agency:
    """An ``agencies`` row (a SQLAlchemy row, or the mailbox store's ``AgencyRow``) as an
    :class:`Agency`: the one place the row is mapped."""
    return Agency(
        row.id,
        row.name,
        row.kind,
        row.status,
        row.isp_version,
        row.isp_signed_by,
        row.isp_signed_on,
        row.identity_fingerprint,
        row.identity_key,
        encryption_fingerprint,
    )


async def invite(
    engine: AsyncEngine,
    *,
    agency_id: str,
    name: str,
    kind: str,
    isp_version: str,
    isp_signed_by: str,
    isp_signed_on: date,
    now: datetime,
) -> str:
    """Record an agency and return its one-time enrolment code (its own transaction)."""
    async with engine.begin() as conn:
        return await invite_in(
            conn,
            agency_id=agency_id,
            name=name,
            kind=kind,
            isp_version=isp_version,
            isp_signed_by=isp_signed_by,
            isp_signed_on=isp_signed_on,
            now=now,
        )


def check_invitation(agency_id: str, name: str, kind: str, isp_version: str, by: str) -> None:
    """Refuse a malformed invitation (id, kind, name, ISP version, signatory)."""
    if (
        not isinstance(agency_id, str)
        or not agency_id
        or len(agency_id) > 64
        or not set(agency_id) <= _ID_CHARS
        or not agency_id[0].isalnum()
        or agency_id == "all"
    ):
        raise ProtocolError("an agency id is 1-64 lower-case letters, digits, '-', '.', '_'")
    if kind not in KINDS:
        raise ProtocolError(f"kind must be one of {', '.join(KINDS)}")
    if not name.strip() or not isp_version.strip() or not by.strip():
        raise ProtocolError("name, ISP version and signatory are required")


async def invite_in(
    conn: AsyncConnection,
    *,
    agency_id: str,
    name: str,
    kind: str,
    isp_version: str,
    isp_signed_by: str,
    isp_signed_on: date,
    now: datetime,
) -> str:
    """Record an agency in the caller's transaction; return its one-time enrolment code."""
    check_invitation(agency_id, name, kind, isp_version, isp_signed_by)
    secret = new_secret()
    if await conn.scalar(select(agencies.c.id).where(agencies.c.id == agency_id)):
        raise HubError(f"agency {agency_id} already exists", code="conflict")
    await conn.execute(
        agencies.insert().values(
            id=agency_id,
            name=name.strip(),
            kind=kind,
            status="invited",
            isp_version=isp_version,
            isp_signed_by=isp_signed_by,
            isp_signed_on=isp_signed_on,
            enrol_code_hash=hash_secret(secret),
            enrol_code_expires=now + CODE_VALIDITY,
            created_at=now,
        )
    )
    return f"{agency_id}:{secret}"


async def enrol(
    engine: AsyncEngine, code: str, signed: SignedKeyAnnouncement, *, now: datetime
) -> Agency:
    """Consume an enrolment code: store the agency's identity and first encryption key."""
    agency_id, _, secret = code.partition(":")
    refused = PolicyError("the enrolment code is wrong, used or expired", code="bad-enrolment-code")
    # Argon2id runs in a thread, before the write transaction: a stream of wrong codes
    # neither blocks the event loop nor holds the write lock.
    async with engine.connect() as conn:
        code_hash = await conn.scalar(
            select(agencies.c.enrol_code_hash).where(
                agencies.c.id == agency_id, agencies.c.status == "invited"
            )
        )
    if code_hash is None or not await check_off_loop(code_hash, secret):
        raise refused
    async with engine.begin() as conn:
        row = (
            await conn.execute(select(agencies).where(agencies.c.id == agency_id).with_for_update())
        ).first()
        if (
            row is None
            or row.status != "invited"
            or row.enrol_code_hash != code_hash
            or _aware(row.enrol_code_expires) < now
        ):
            raise refused
        ann = signed.announcement
        if ann.party != agency_id:
            raise ProtocolError("the announcement names another agency", code="bad-signature")
        try:
            identity = IdentityPublicKey.from_bytes(b64decode(ann.identity_key))
        except ValueError:
            raise CryptoError("identity key is malformed", code="bad-signature") from None
        key = verify_announcement(signed, identity=identity, now=now)
        taken = await conn.scalar(
            select(agencies.c.id).where(agencies.c.identity_fingerprint == identity.fingerprint)
        )
        if taken is not None:
            raise HubError("this identity key is already enrolled", code="conflict")
        done = await conn.execute(
            update(agencies)
            .where(agencies.c.id == agency_id, agencies.c.status == "invited")
            .values(
                status="pending",
                enrol_code_hash=None,
                identity_key=identity.raw,
                identity_fingerprint=identity.fingerprint,
                enrolled_at=now,
                status_changed_at=now,
            )
        )
        if done.rowcount != 1:
            raise refused
        await _insert_key(conn, agency_id, signed, key, now)
        actor = f"agency:{agency_id}"
        await disclosure_log.append(
            conn,
            [
                _key_entry(
                    "key_registered",
                    agency_id,
                    "identity",
                    identity.fingerprint,
                    IDENTITY_SUITE,
                    actor,
                    now,
                ),
                _key_entry(
                    "key_registered",
                    agency_id,
                    "encryption",
                    key.fingerprint,
                    key.suite,
                    actor,
                    now,
                ),
            ],
        )
        row = (await conn.execute(select(agencies).where(agencies.c.id == agency_id))).one()
    return agency_from_row(row, key.fingerprint)


async def _insert_key(
    conn: AsyncConnection,
    agency_id: str,
    signed: SignedKeyAnnouncement,
    key: EncryptionPublicKey,
    now: datetime,
) -> None:
    exists = await conn.scalar(
        select(agency_keys.c.fingerprint).where(agency_keys.c.fingerprint == key.fingerprint)
    )
    if exists is not None:
        raise HubError("this encryption key is already registered", code="conflict")
    await conn.execute(
        agency_keys.insert().values(
            fingerprint=key.fingerprint,
            agency_id=agency_id,
            suite=key.suite,
            public_key=key.raw,
            announcement=json.dumps(signed.to_json()),
            created_at=signed.announcement.created_at,
            expires_at=signed.announcement.expires_at,
            registered_at=now,
        )
    )


async def register_key(
    engine: AsyncEngine, agency: Agency, signed: SignedKeyAnnouncement, *, now: datetime
) -> EncryptionPublicKey:
    """Register a rotated encryption key announced (and signed) by the agency."""
    if signed.announcement.party != agency.id or agency.identity_key is None:
        raise ProtocolError("the announcement names another agency", code="bad-signature")
    key = verify_announcement(
        signed, identity=IdentityPublicKey.from_bytes(agency.identity_key), now=now
    )
    async with engine.begin() as conn:
        await _insert_key(conn, agency.id, signed, key, now)
        await disclosure_log.append(
            conn,
            [
                _key_entry(
                    "key_rotated",
                    agency.id,
                    "encryption",
                    key.fingerprint,
                    key.suite,
                    f"agency:{agency.id}",
                    now,
                )
            ],
        )
    return key


def _key_entry(
    kind: Literal["key_registered", "key_rotated", "key_revoked"],
    agency_id: str,
    role: Literal["identity", "encryption"],
    fingerprint: str,
    suite: str,
    actor: str,
    now: datetime,
    door: Door | None = None,
) -> LogEntry:
    from hub.log.entries import EntryKey  # noqa: PLC0415 (see the imports)

    key = EntryKey(role=role, fingerprint=fingerprint, suite=suite)
    return disclosure_log.LogEntry(
        kind=kind, at=now, actor=actor, agency=agency_id, key=key, door=door
    )


def _status_entry(
    agency_id: str, status: str, actor: str, now: datetime, door: Door | None = None
) -> LogEntry:
    return disclosure_log.LogEntry(
        kind="agency_status", at=now, actor=actor, agency=agency_id, status=status, door=door
    )


async def newest_key(
    conn: AsyncConnection, agency_id: str, now: datetime
) -> EncryptionPublicKey | None:
    """The agency's newest unexpired, unrevoked encryption key."""
    return (await newest_keys(conn, [agency_id], now)).get(agency_id)


async def newest_keys(
    conn: AsyncConnection, agency_ids: Collection[str], now: datetime
) -> dict[str, EncryptionPublicKey]:
    """Each agency's newest unexpired, unrevoked encryption key (absent: it has none)."""
    if not agency_ids:
        return {}
    rows = await conn.execute(_NEWEST_KEYS, {"ids": list(agency_ids), "now": now})
    found: dict[str, EncryptionPublicKey] = {}
    for agency_id, suite, public_key in rows:
        if agency_id not in found:
            found[agency_id] = EncryptionPublicKey.known(suite, public_key)
    return found


# Statements built once (they run on every disclosure and signed request); ``ids`` expands.
_NEWEST_KEYS: Final = (
    select(agency_keys.c.agency_id, agency_keys.c.suite, agency_keys.c.public_key)
    .where(
        agency_keys.c.agency_id.in_(bindparam("ids", expanding=True)),
        agency_keys.c.revoked_at.is_(None),
        agency_keys.c.expires_at > bindparam("now"),
    )
    .order_by(agency_keys.c.created_at.desc(), agency_keys.c.registered_at.desc())
)
# An Agency's columns only: the table's timestamps would each be parsed for nothing.
_AGENCY: Final = select(
    agencies.c.id,
    agencies.c.name,
    agencies.c.kind,
    agencies.c.status,
    agencies.c.isp_version,
    agencies.c.isp_signed_by,
    agencies.c.isp_signed_on,
    agencies.c.identity_fingerprint,
    agencies.c.identity_key,
)
_BY_ID: Final = _AGENCY.where(agencies.c.id == bindparam("agency_id"))
_BY_IDS: Final = _AGENCY.where(agencies.c.id.in_(bindparam("ids", expanding=True)))
_ACTIVE: Final = _AGENCY.where(agencies.c.status == "active").order_by(agencies.c.id)


async def get_agency(conn: AsyncConnection, agency_id: str) -> Agency | None:
    """One agency by id (a statement built once: this runs on every signed request)."""
    row = (await conn.execute(_BY_ID, {"agency_id": agency_id})).first()
    return None if row is None else agency_from_row(row)


async def get_agencies(conn: AsyncConnection, agency_ids: Collection[str]) -> dict[str, Agency]:
    """The agencies of ``agency_ids`` that exist, by id, in one query."""
    if not agency_ids:
        return {}
    rows = await conn.execute(_BY_IDS, {"ids": list(agency_ids)})
    return {row.id: agency_from_row(row) for row in rows}


async def active_agencies(conn: AsyncConnection) -> list[Agency]:
    """Every active agency, by id."""
    return [agency_from_row(row) for row in await conn.execute(_ACTIVE)]


async def list_agencies(engine: AsyncEngine, now: datetime) -> list[Agency]:
    """Every agency with its newest encryption key fingerprint."""
    async with engine.connect() as conn:
        return await agencies_with_keys(conn, now)


async def agencies_with_keys(
    conn: AsyncConnection, now: datetime, only: Collection[str] | None = None
) -> list[Agency]:
    """Every agency (or those of ``only``), by id, with its newest encryption key's
    fingerprint."""
    query = select(agencies).order_by(agencies.c.id)
    if only is not None:
        query = query.where(agencies.c.id.in_(list(only)))
    rows = (await conn.execute(query)).all()
    keys = await newest_keys(conn, [row.id for row in rows], now)
    return [
        agency_from_row(row, keys[row.id].fingerprint if row.id in keys else None) for row in rows
    ]


async def approve(
    engine: AsyncEngine, agency_id: str, identity_fingerprint: str, *, by: str, now: datetime
) -> None:
    """Approve an enrolled agency (its own transaction; see :func:`approve_in`)."""
    async with engine.begin() as conn:
        await approve_in(conn, agency_id, identity_fingerprint, by=by, now=now)


async def approve_in(
    conn: AsyncConnection,
    agency_id: str,
    identity_fingerprint: str,
    *,
    by: str,
    now: datetime,
    door: Door | None = None,
) -> None:
    """Approve an enrolled agency once its fingerprint has been compared out of band,
    in the caller's transaction; logged (``agency_status``) with ``by`` as the actor."""
    row = (
        await conn.execute(select(agencies).where(agencies.c.id == agency_id).with_for_update())
    ).first()
    if row is None:
        raise HubError(f"no agency {agency_id}", code="not-found")
    if row.status != "pending":
        raise HubError(
            f"agency {agency_id} is {row.status}, not awaiting approval", code="conflict"
        )
    if row.identity_fingerprint != identity_fingerprint.strip().lower():
        raise HubError(
            "the fingerprint differs from the enrolled identity key: do not approve",
            code="fingerprint-mismatch",
        )
    await conn.execute(
        update(agencies)
        .where(agencies.c.id == agency_id)
        .values(status="active", approved_at=now, approved_by=by, status_changed_at=now)
    )
    await disclosure_log.append(conn, [_status_entry(agency_id, "active", by, now, door)])


_TRANSITIONS: Final = {
    "suspended": {"active"},
    "active": {"suspended"},  # reinstate
    "revoked": {"invited", "pending", "active", "suspended"},
}


async def set_status(
    engine: AsyncEngine, agency_id: str, status: str, *, now: datetime, actor: str
) -> None:
    """Suspend, reinstate or revoke an agency (its own transaction; see
    :func:`change_status`); ``actor`` names who did it (``role:name``)."""
    async with engine.begin() as conn:
        await change_status(conn, agency_id, status, now=now, actor=actor)


async def change_status(
    conn: AsyncConnection,
    agency_id: str,
    status: str,
    *,
    now: datetime,
    actor: str,
    door: Door | None = None,
) -> None:
    """Suspend, reinstate or revoke an agency in the caller's transaction. Revoking also
    revokes all its keys.

    Each change is logged (``agency_status``; ``key_revoked`` for every key revoked) in
    the same transaction; ``actor`` names who made it, ``door`` where they acted.
    """
    row = (
        await conn.execute(select(agencies).where(agencies.c.id == agency_id).with_for_update())
    ).first()
    if row is None:
        raise HubError(f"no agency {agency_id}", code="not-found")
    if row.status not in _TRANSITIONS[status]:
        raise HubError(
            f"agency {agency_id} is {row.status}; cannot make it {status}", code="conflict"
        )
    await conn.execute(
        update(agencies)
        .where(agencies.c.id == agency_id)
        .values(status=status, status_changed_at=now, enrol_code_hash=None)
    )
    entries = []
    if status == "revoked":
        live = agency_keys.c.agency_id == agency_id, agency_keys.c.revoked_at.is_(None)
        keys = (
            await conn.execute(
                select(agency_keys.c.fingerprint, agency_keys.c.suite)
                .where(*live)
                .order_by(agency_keys.c.created_at, agency_keys.c.fingerprint)
            )
        ).all()
        await conn.execute(update(agency_keys).where(*live).values(revoked_at=now))
        if row.identity_fingerprint is not None:
            entries.append(
                _key_entry(
                    "key_revoked",
                    agency_id,
                    "identity",
                    row.identity_fingerprint,
                    IDENTITY_SUITE,
                    actor,
                    now,
                    door,
                )
            )
        entries += [
            _key_entry(
                "key_revoked", agency_id, "encryption", k.fingerprint, k.suite, actor, now, door
            )
            for k in keys
        ]
    entries.append(_status_entry(agency_id, status, actor, now, door))
    await disclosure_log.append(conn, entries)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
