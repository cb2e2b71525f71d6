"""The checks every store of receipts makes, whichever engine and driver stores them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from hub.protocol.errors import HubError, ProtocolError
from hub.protocol.messages import Receipt, payload_of

__all__ = ["receipt_json", "sort_receipts"]


def receipt_json(receipt: Receipt) -> str:
    """The receipt as the ``receipts`` table keeps it."""
    return json.dumps(payload_of(receipt))


def sort_receipts(
    signed: Sequence[tuple[Receipt, bytes]], outbox_rows: Iterable[Sequence[str]]
) -> tuple[list[tuple[Receipt, bytes]], list[str]]:
    """Each receipt against its envelope's outbox row (``(envelope_id, digest, status)``,
    as each store reads it): the receipts to store, and the ids already delivered. An
    envelope that is not the agency's (``unknown-envelope``) or a hash that is not its
    own (``bad-receipt``) refuses the whole batch."""
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
