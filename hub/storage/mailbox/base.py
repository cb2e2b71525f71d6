"""What a mailbox store does (:class:`MailboxStore`), and the checks every implementation
makes on a batch of receipts, whichever driver stores them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from hub.protocol.errors import CryptoError, HubError, ProtocolError

if TYPE_CHECKING:  # the message models take a tenth of a second to build: loaded when used
    from hub.protocol.messages import Receipt

__all__ = [
    "AgencyRow",
    "MailboxStore",
    "Nonce",
    "Stored",
    "receipt_json",
    "replayed",
    "sort_receipts",
]

Nonce = tuple[str, str, datetime]
"""A signed request's (agency id, nonce, time): kept in the same transaction as its work."""


class AgencyRow(NamedTuple):
    """The columns of an ``agencies`` row a signed request is checked against."""

    id: str
    name: str
    kind: str
    status: str
    isp_version: str
    isp_signed_by: str
    isp_signed_on: date
    identity_fingerprint: str | None
    identity_key: bytes | None


AGENCY_COLUMNS = ", ".join(AgencyRow._fields)


class Stored(NamedTuple):
    """What a batch of receipts did: the envelopes it acknowledged now, and those
    acknowledged before."""

    acknowledged: list[str]
    already: list[str]


class MailboxStore(Protocol):
    """The hot path's storage operations (see the package docstring)."""

    async def agency(self, agency_id: str) -> AgencyRow | None:
        """The agency a signed request names, as it is now (None: no such agency)."""
        ...

    async def look(
        self,
        agency_id: str,
        limit: int,
        now: datetime,
        *,
        lease: float = 0,
        nonce: Nonce | None = None,
    ) -> list[bytes]:
        """Up to ``limit`` of the agency's queued, unexpired envelopes that no running
        lease holds, oldest first. ``nonce``: kept in the same transaction (a nonce
        seen before: ``replayed-request``, and nothing handed out). ``lease`` > 0
        (seconds): the envelopes are claimed until ``now + lease``, and no other look,
        in this process or another, hands them out meanwhile. A look that writes (a
        nonce or a lease) is committed without waiting for the disk: both are worth
        nothing after a power cut."""
        ...

    async def store_receipts(
        self,
        agency_id: str,
        signed: Sequence[tuple[Receipt, bytes]],
        now: datetime,
        nonce: Nonce | None = None,
    ) -> Stored:
        """Store a batch of signed receipts (their signatures already checked) in one
        durable transaction with ``nonce``: every receipt and every envelope marked
        delivered, or none. An envelope that is not the agency's
        (``unknown-envelope``) or a hash that is not its own (``bad-receipt``) refuses
        the whole batch."""
        ...

    def close(self) -> None:
        """Close the store's own connections (the engine's are the engine's)."""
        ...


def receipt_json(receipt: Receipt) -> str:
    """The receipt as the ``receipts`` table keeps it."""
    from hub.protocol.messages import payload_of  # noqa: PLC0415 (see TYPE_CHECKING)

    return json.dumps(payload_of(receipt))


def sort_receipts(
    signed: Sequence[tuple[Receipt, bytes]], outbox_rows: Iterable[Sequence[str]]
) -> tuple[list[tuple[Receipt, bytes]], list[str]]:
    """Each receipt against its envelope's outbox row (``(envelope_id, digest, status)``,
    as each store reads it): the receipts to store, and the ids already delivered."""
    found = {row[0]: (row[1], row[2]) for row in outbox_rows}
    fresh: list[tuple[Receipt, bytes]] = []
    already: list[str] = []
    for receipt, signature in signed:
        row = found.get(receipt.envelope_id)
        if row is None:
            raise HubError("no such envelope for this agency", code="unknown-envelope")
        digest, status = row
        if digest != receipt.envelope_sha256:
            raise ProtocolError("receipt hash does not match the envelope", code="bad-receipt")
        if status == "delivered":
            already.append(receipt.envelope_id)
        else:
            fresh.append((receipt, signature))
    return fresh, already


def replayed() -> CryptoError:
    """The error for a signed request's nonce seen before."""
    return CryptoError("this request was already made", code="replayed-request")
