"""What a batch of disclosures reads once (the recipients' standing and formats) and
writes once at its end (one outbox insert, one log append), with each message's payload,
paths, canonical JSON, digest and renderings computed once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.delivery.settings import DEFAULT, DeliverySettings
from hub.delivery.tables import outbox
from hub.disclosure.fields import disclosed_paths, subject_ids_in
from hub.disclosure.rendering import render
from hub.log import LogEntry, append
from hub.policy.standing import Standing
from hub.protocol.canonical import canonical_json
from hub.protocol.messages import Message, payload_of
from hub.storage.sql import insert_many

__all__ = ["Batch"]


class Batch:
    """What a batch of disclosures has read once and will write at its end."""

    def __init__(
        self, standing: Standing | None, deliveries: Mapping[str, DeliverySettings]
    ) -> None:
        self._standing = standing
        self.deliveries = deliveries
        self.outbox: list[dict[str, Any]] = []
        self.entries: list[LogEntry] = []
        # per message object (a notice to all is one object): its payload, paths, digests
        self._memo: dict[tuple[int, str], tuple[object, Any]] = {}

    @property
    def standing(self) -> Standing:
        if self._standing is None:
            raise AssertionError("this batch was made without the recipients' standing")
        return self._standing

    def _remember(self, obj: object, what: str, compute: Callable[[], Any]) -> Any:
        key = (id(obj), what)
        found = self._memo.get(key)
        if found is None or found[0] is not obj:
            found = self._memo[key] = (obj, compute())
        return found[1]

    def payload(self, message: Message) -> dict[str, Any]:
        """``payload_of(message)``, computed once per message object."""
        result: dict[str, Any] = self._remember(message, "payload", lambda: payload_of(message))
        return result

    def paths(self, message: Message, payload: Mapping[str, Any]) -> set[str]:
        """``disclosed_paths(payload)``, once per message object."""
        result: set[str] = self._remember(message, "paths", lambda: disclosed_paths(payload))
        return result

    def logged(self, message: Message, payload: Mapping[str, Any]) -> tuple[Any, ...]:
        """The log entry's subject ids and field names for ``payload``, once per message."""
        result: tuple[Any, ...] = self._remember(
            message,
            "logged",
            lambda: (
                subject_ids_in(payload) or None,
                tuple(sorted(self.paths(message, payload))) or None,
            ),
        )
        return result

    def canonical(self, sealed: Message, payload: Mapping[str, Any]) -> bytes:
        """The sealed payload's canonical JSON, once per message object."""
        result: bytes = self._remember(sealed, "json", lambda: canonical_json(dict(payload)))
        return result

    def payload_sha256(self, sealed: Message, payload: Mapping[str, Any]) -> str:
        """SHA-256 of the sealed payload's canonical JSON, once per message object."""
        result: str = self._remember(
            sealed, "sha256", lambda: hashlib.sha256(self.canonical(sealed, payload)).hexdigest()
        )
        return result

    def rendered(self, agency_id: str, message: Message) -> Message:
        """``message`` in the agency's format (one rendering per message and format)."""
        name = self.deliveries.get(agency_id, DEFAULT).format
        return self._remember(message, f"render:{name}", lambda: render(agency_id, name, message))  # type: ignore[no-any-return]

    async def write(self, conn: AsyncConnection) -> list[int]:
        """One insert for the outbox rows, one append for the log entries; their indices."""
        await insert_many(conn, outbox, self.outbox)
        return await append(conn, self.entries)
