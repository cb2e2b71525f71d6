"""Two agency witnesses for the tamper harness: police and health, with identity keys, who
cosign each checkpoint the hub signs through the hub's own ``store_cosignature``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.agencies.tables import agencies
from hub.crypto.checkpoint import Checkpoint, Cosigner, witness_name
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.signed_note import parse_note
from hub.log.tables import log_heads
from hub.log.witnesses import store_cosignature

WITNESSES = {
    "police-north": ("police", IdentityKeyPair.from_private_bytes(bytes(range(32)))),
    "health-east": ("health", IdentityKeyPair.from_private_bytes(bytes(range(1, 33)))),
}


async def add_witnesses(conn: AsyncConnection) -> None:
    """The two agencies, enrolled with their identity keys."""
    now = datetime.now(UTC)
    for agency_id, (kind, key) in WITNESSES.items():
        await conn.execute(
            agencies.insert().values(
                id=agency_id,
                name=f"{agency_id} service",
                kind=kind,
                status="active",
                isp_version="2026.1",
                isp_signed_by="Designated MARAC Officer",
                isp_signed_on=date(2026, 11, 1),
                identity_key=key.public.raw,
                identity_fingerprint=key.fingerprint,
                created_at=now,
            )
        )


async def cosign_newest(engine: AsyncEngine, log_id: str, at: datetime) -> None:
    """Both witnesses cosign the newest checkpoint at time ``at``, as their clients would."""
    async with engine.connect() as conn:
        note = (
            await conn.execute(
                select(log_heads.c.checkpoint).order_by(log_heads.c.id.desc()).limit(1)
            )
        ).scalar_one()
    parsed = parse_note(note)
    checkpoint = Checkpoint.parse(parsed.text)
    for agency_id, (_, key) in WITNESSES.items():
        line = Cosigner(witness_name(agency_id, checkpoint.origin), key).cosign(
            checkpoint, int(at.timestamp())
        )
        witnessed = parsed.with_signatures([line]).encode().decode()
        await store_cosignature(
            engine, log_id, agency_id, key.public.raw, witnessed, now=datetime.now(UTC)
        )
