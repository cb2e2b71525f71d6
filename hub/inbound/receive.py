"""Receive one sealed message from an agency: check, open, record and hand it on.

Every check on the clear header comes first (sender, recipient, type), then the
envelope is opened with the hub's encryption key and the agency's identity key (any
cryptographic failure is one opaque ``invalid-envelope``), then the payload must agree
with its envelope and its sender. The row in ``inbound_messages`` and the handler's
work commit together or not at all; the same envelope again is answered from that row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.agencies import Agency
from hub.crypto.keys import EncryptionKeyPair, IdentityPublicKey
from hub.crypto.sealing import open_envelope
from hub.inbound.registry import INBOUND_TYPES, registered
from hub.inbound.tables import inbound_messages
from hub.protocol.envelope import Envelope
from hub.protocol.errors import HubError, InvalidEnvelope, PolicyError, ProtocolError
from hub.protocol.messages import Message

__all__ = ["Received", "receive"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """What became of an envelope: handled now, or already handled before."""

    envelope_id: str
    type: str
    already: bool
    result: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The API answer."""
        doc: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "already": self.already,
        }
        if not self.already:
            doc["result"] = self.result
        return doc


async def receive(
    engine: AsyncEngine,
    ctx: Any,
    *,
    hub_id: str,
    hub_key: EncryptionKeyPair,
    agency: Agency,
    envelope: Envelope,
    now: datetime,
) -> Received:
    """Check and open ``envelope`` from ``agency`` and hand it to its type's handler."""
    header = envelope.header
    if header.sender != agency.id:
        raise PolicyError("the envelope names another sender", code="sender-mismatch")
    if header.recipient != hub_id:
        raise ProtocolError("the envelope is addressed to another hub", code="wrong-recipient")
    handle = registered(header.type) if header.type in INBOUND_TYPES else None
    if handle is None:
        raise ProtocolError(
            f"the hub accepts no {header.type} messages from agencies", code="unhandled-type"
        )
    digest = envelope.digest()
    async with engine.connect() as conn:
        earlier = await _earlier(conn, agency, header.id, digest)
    if earlier is not None:
        return earlier
    if agency.identity_key is None:  # the signed request proved one; defensive
        raise InvalidEnvelope()
    opened = open_envelope(
        envelope, recipient=hub_key, sender=IdentityPublicKey.from_bytes(agency.identity_key)
    )
    message = opened.message()
    _check_agrees(message, envelope, agency)
    try:
        async with engine.begin() as conn:
            earlier = await _earlier(conn, agency, header.id, digest)
            if earlier is not None:
                return earlier
            await conn.execute(
                inbound_messages.insert().values(
                    envelope_id=header.id,
                    agency_id=agency.id,
                    type=header.type,
                    case_ref=header.case_ref,
                    digest=digest,
                    received_at=now,
                )
            )
            result = await handle(conn, ctx, agency, message, header.id, now)
            await conn.execute(
                update(inbound_messages)
                .where(inbound_messages.c.envelope_id == header.id)
                .values(handled_at=datetime.now(UTC))
            )
    except IntegrityError:
        # Another request stored the same id between the check and the insert.
        async with engine.connect() as conn:
            earlier = await _earlier(conn, agency, header.id, digest)
        if earlier is None:
            raise
        return earlier
    log.info("%s %s from %s handled", header.type, header.id, agency.id)
    return Received(header.id, header.type, already=False, result=dict(result))


async def _earlier(
    conn: AsyncConnection, agency: Agency, envelope_id: str, digest: str
) -> Received | None:
    """The earlier receipt of this envelope, or None; another envelope under its id is refused."""
    row = (
        await conn.execute(
            select(
                inbound_messages.c.agency_id, inbound_messages.c.type, inbound_messages.c.digest
            ).where(inbound_messages.c.envelope_id == envelope_id)
        )
    ).first()
    if row is None:
        return None
    if row.agency_id != agency.id or row.digest != digest:
        raise HubError(
            "another envelope was already received under this id", code="duplicate-envelope"
        )
    return Received(envelope_id, row.type, already=True)


def _check_agrees(message: Message, envelope: Envelope, agency: Agency) -> None:
    """The payload's own case and agency fields must match its envelope and its sender."""
    if getattr(message, "case_ref", None) != envelope.header.case_ref:
        raise ProtocolError(
            "the payload's case_ref differs from the envelope's", code="case-mismatch"
        )
    sender = getattr(message, "agency_id", agency.id)
    if sender != agency.id:
        raise PolicyError("the payload names another agency", code="sender-mismatch")
