"""Witnesses of the log: the agencies' cosignatures of its checkpoints, and their alarms.

An agency cosigns a checkpoint the hub signed (``hub.crypto.checkpoint``) with its
identity key, under the key name ``<agency id>.witness.<origin>``, and posts the
witnessed note back. ``store_cosignature`` checks it before storing it: the note is a
checkpoint of this log that the hub signed and stored (same text, same root), and the
agency's cosignature on it verifies with the agency's key as the hub knows it; the key
is stored with the cosignature, so it can be checked again after a rotation.

A witness that is offered a checkpoint inconsistent with one it cosigned (or smaller)
refuses and reports it: ``record_alarm`` stores both notes and opens a coordinators'
alert (``alerts``, kind ``log-fork``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.crypto.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    checkpoint_origin,
    witness_name,
)
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.signed_note import Note, NoteSignature, parse_note
from hub.delivery.tables import alerts
from hub.log.tables import log_cosignatures, log_heads, log_witness_alarms
from hub.protocol.errors import CryptoError, HubError, ProtocolError

__all__ = [
    "ALARM_KIND",
    "PROBLEMS",
    "Cosigned",
    "StoredCosignature",
    "WitnessAlarm",
    "alarms",
    "cosignatures",
    "record_alarm",
    "store_cosignature",
    "witnessed_note",
]

ALARM_KIND: Final = "log-fork"
PROBLEMS: Final = frozenset({"inconsistent", "smaller", "same-size-other-root", "bad-proof"})
MAX_FUTURE: Final = timedelta(minutes=10)  # clock skew allowed on a cosignature's time
MAX_ALARMS_PER_AGENCY: Final = 100


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoredCosignature:
    """A stored cosignature: who, of which checkpoint, when, with which key."""

    agency_id: str
    size: int
    root: bytes
    key_name: str
    public_key: bytes
    signature: bytes  # key ID || timestamp || Ed25519
    cosigned_at: datetime
    received_at: datetime

    @property
    def line(self) -> NoteSignature:
        """The note signature line."""
        return NoteSignature(self.key_name, self.signature[:4], self.signature[4:])

    def verifies(self, origin: str) -> bool:
        """True if the stored signature cosigns the checkpoint (origin, size, root)."""
        try:
            verifier = CosignatureVerifier(self.key_name, IdentityPublicKey(self.public_key))
            verifier.check(Checkpoint(origin, self.size, self.root), self.line)
        except (ValueError, HubError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Cosigned:
    """The outcome of a cosignature post."""

    size: int
    witness: str
    stored: bool  # False: this agency had already cosigned this checkpoint


@dataclass(frozen=True, slots=True)
class WitnessAlarm:
    """A witness's report that the hub offered a checkpoint it must not cosign."""

    id: int
    agency_id: str
    problem: str
    cosigned_size: int
    offered_size: int
    cosigned: str
    offered: str
    reported_at: datetime


def _row_cosignature(row: Any) -> StoredCosignature:
    return StoredCosignature(
        row.agency_id,
        int(row.size),
        bytes(row.root),
        row.key_name,
        bytes(row.public_key),
        bytes(row.signature),
        _aware(row.cosigned_at),
        _aware(row.received_at),
    )


async def cosignatures(
    conn: AsyncConnection, *, size: int | None = None, newest: int | None = None
) -> list[StoredCosignature]:
    """Every stored cosignature (of the checkpoint of ``size`` only, if given; the
    ``newest`` stored only, if given), oldest first."""
    query = select(log_cosignatures).order_by(log_cosignatures.c.id.desc())
    if size is not None:
        query = query.where(log_cosignatures.c.size == size)
    if newest is not None:
        query = query.limit(newest)
    return [_row_cosignature(r) for r in reversed((await conn.execute(query)).all())]


async def witnessed_note(conn: AsyncConnection, note: str, size: int) -> str:
    """The checkpoint note ``note`` (of ``size``) with every stored cosignature of it."""
    parsed = parse_note(note)
    root = Checkpoint.parse(parsed.text).root
    lines = [c.line for c in await cosignatures(conn, size=size) if c.root == root]
    return parsed.with_signatures(lines).encode().decode("utf-8")


def _checkpoint_of(note: Note, origin: str) -> Checkpoint:
    checkpoint = Checkpoint.parse(note.text)
    if checkpoint.origin != origin:
        raise ProtocolError("the checkpoint is of another log", code="bad-checkpoint")
    return checkpoint


async def store_cosignature(
    engine: AsyncEngine,
    log_id: str,
    agency_id: str,
    agency_key: bytes | None,
    note_text: str,
    *,
    now: datetime,
) -> Cosigned:
    """Check the agency's cosignature on a checkpoint the hub signed, and store it."""
    if agency_key is None:
        raise HubError("the agency has no identity key", code="forbidden")
    origin = checkpoint_origin(log_id)
    note = parse_note(note_text)
    checkpoint = _checkpoint_of(note, origin)
    name = witness_name(agency_id, origin)
    verifier = CosignatureVerifier(name, IdentityPublicKey(agency_key))
    mine = [s for s in note.signatures if (s.name, s.key_id) == (name, verifier.key_id)]
    if not mine:
        raise CryptoError(
            f"the note carries no cosignature by {name} with this agency's key",
            code="bad-cosignature",
        )
    async with engine.connect() as conn:
        signed = (
            await conn.execute(
                select(log_heads.c.checkpoint).where(
                    log_heads.c.size == checkpoint.size,
                    log_heads.c.root == checkpoint.root,
                    log_heads.c.checkpoint.is_not(None),
                )
            )
        ).first()
    if signed is None or parse_note(signed.checkpoint).text != note.text:
        raise ProtocolError("the hub signed no such checkpoint", code="bad-checkpoint")
    timestamp = verifier.check(checkpoint, mine[0])
    cosigned_at = datetime.fromtimestamp(min(timestamp, 2**40), UTC)
    if cosigned_at > now + MAX_FUTURE:
        raise CryptoError("the cosignature's time is in the future", code="bad-cosignature")
    try:
        async with engine.begin() as conn:
            await conn.execute(
                log_cosignatures.insert().values(
                    agency_id=agency_id,
                    size=checkpoint.size,
                    root=checkpoint.root,
                    key_name=name,
                    public_key=agency_key,
                    signature=mine[0].key_id + mine[0].signature,
                    cosigned_at=cosigned_at,
                    received_at=now,
                )
            )
    except IntegrityError:
        return Cosigned(checkpoint.size, name, stored=False)  # cosigned already
    return Cosigned(checkpoint.size, name, stored=True)


async def record_alarm(
    engine: AsyncEngine,
    log_id: str,
    agency_id: str,
    problem: str,
    cosigned: str,
    offered: str,
    *,
    now: datetime,
) -> int:
    """Store a witness's fork alarm (both checkpoint notes) and open a ``log-fork``
    alert for the coordinators; the alarm's id. The same problem with the same cosigned
    checkpoint, reported again, is the alarm already stored."""
    if problem not in PROBLEMS:
        raise ProtocolError(f"problem must be one of {', '.join(sorted(PROBLEMS))}")
    origin = checkpoint_origin(log_id)
    old = _checkpoint_of(parse_note(cosigned), origin)
    new = _checkpoint_of(parse_note(offered), origin)
    async with engine.begin() as conn:
        same = (
            await conn.execute(
                select(log_witness_alarms.c.id).where(
                    log_witness_alarms.c.agency_id == agency_id,
                    log_witness_alarms.c.problem == problem,
                    log_witness_alarms.c.cosigned_size == old.size,
                )
            )
        ).first()
        if same is not None:  # reported already: one alarm and one alert per fork seen
            return int(same.id)
        count = (
            await conn.execute(
                select(func.count())
                .select_from(log_witness_alarms)
                .where(log_witness_alarms.c.agency_id == agency_id)
            )
        ).scalar_one()
        if count >= MAX_ALARMS_PER_AGENCY:
            raise HubError("this agency has reported too many alarms", code="busy")
        result = await conn.execute(
            log_witness_alarms.insert().values(
                agency_id=agency_id,
                problem=problem,
                cosigned_size=old.size,
                offered_size=new.size,
                cosigned=cosigned,
                offered=offered,
                reported_at=now,
            )
        )
        await conn.execute(
            alerts.insert().values(kind=ALARM_KIND, agency_id=agency_id, created_at=now)
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


async def alarms(conn: AsyncConnection, limit: int = 20) -> list[WitnessAlarm]:
    """The newest witness alarms, newest first."""
    rows = await conn.execute(
        select(log_witness_alarms).order_by(log_witness_alarms.c.id.desc()).limit(limit)
    )
    return [
        WitnessAlarm(
            int(r.id),
            r.agency_id,
            r.problem,
            int(r.cosigned_size),
            int(r.offered_size),
            r.cosigned,
            r.offered,
            _aware(r.reported_at),
        )
        for r in rows
    ]
