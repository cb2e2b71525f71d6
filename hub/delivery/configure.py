"""Choosing an agency's transport and format (``marac-hub agency set-delivery``, the API).

The transport's settings are checked by the transport itself, then stored encrypted
under the hub's key-encryption key (they may hold SMTP credentials); the record id
binds the ciphertext to its agency, so settings cannot be moved to another agency.
``agencies.transport`` (from the first migration) is not used: ``agency_delivery`` is
the one source of truth.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.adapters.registry import Registry
from hub.agencies import get_agency
from hub.crypto.at_rest import KeyEncryptionKey
from hub.delivery.settings import DEFAULT, DeliverySettings, delivery_of, set_delivery
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "ChosenDelivery",
    "choose_delivery",
    "read_config",
    "read_delivery",
    "show_delivery",
    "store_delivery",
]

_SECRET_KEYS = frozenset({"password", "token", "secret"})
MAX_CONFIG_BYTES = 16 * 1024


def _record(agency_id: str) -> str:
    return f"agency-delivery:{agency_id}"


def seal_config(kek: KeyEncryptionKey, agency_id: str, config: Mapping[str, Any]) -> bytes:
    """The settings' JSON, encrypted for ``agency_id``."""
    return kek.wrap(json.dumps(config, sort_keys=True).encode(), _record(agency_id))


def read_config(kek: KeyEncryptionKey, agency_id: str, blob: bytes | None) -> dict[str, Any]:
    """The agency's transport settings, decrypted (``{}`` if none were stored)."""
    if blob is None:
        return {}
    config: dict[str, Any] = json.loads(kek.unwrap(blob, _record(agency_id)))
    return config


def parse_config(text: str | bytes) -> dict[str, Any]:
    """A settings document (a JSON object) from a file or a request."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ProtocolError("the settings are too large", code="payload-too-large")
    try:
        doc = loads_strict(text)
    except ProtocolError:
        raise ProtocolError("the settings are not valid JSON", code="bad-config") from None
    if not isinstance(doc, dict):
        raise ProtocolError("the settings must be a JSON object", code="bad-config")
    return doc


@dataclass(frozen=True, slots=True)
class ChosenDelivery:
    """An agency's delivery, as staff may see it (secrets shown as ``"***"``)."""

    agency_id: str
    transport: str
    format: str
    config: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The API's answer."""
        return {
            "agency_id": self.agency_id,
            "transport": self.transport,
            "format": self.format,
            "config": self.config,
        }


def _redacted(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: "***" if k in _SECRET_KEYS else v for k, v in config.items()}


async def _require_agency(conn: AsyncConnection, agency_id: str) -> None:
    if await get_agency(conn, agency_id) is None:
        raise HubError("no such agency", code="not-found")


async def choose_delivery(
    engine: AsyncEngine,
    kek: KeyEncryptionKey,
    registry: Registry,
    agency_id: str,
    *,
    transport: str,
    format: str,
    config: Mapping[str, Any],
    by: str | None,
    now: datetime,
) -> ChosenDelivery:
    """Check and store an agency's transport, format and settings (own transaction)."""
    async with engine.begin() as conn:
        return await store_delivery(
            conn,
            kek,
            registry,
            agency_id,
            transport=transport,
            format=format,
            config=config,
            by=by,
            now=now,
        )


async def store_delivery(
    conn: AsyncConnection,
    kek: KeyEncryptionKey,
    registry: Registry,
    agency_id: str,
    *,
    transport: str,
    format: str,
    config: Mapping[str, Any],
    by: str | None,
    now: datetime,
) -> ChosenDelivery:
    """Check and store an agency's transport, format and transport settings in the
    caller's transaction; ``by`` (who chose them) is kept with them."""
    chosen = registry.transport(transport)
    if format != DEFAULT.format:  # the default (the typed message) needs no adapter
        registry.format(format)
    checked = chosen.check_config(config)
    await _require_agency(conn, agency_id)
    blob = seal_config(kek, agency_id, checked) if checked else None
    await set_delivery(conn, agency_id, DeliverySettings(transport, format, blob), now=now, by=by)
    return ChosenDelivery(agency_id, transport, format, _redacted(checked))


async def show_delivery(
    engine: AsyncEngine, kek: KeyEncryptionKey, agency_id: str
) -> ChosenDelivery:
    """The agency's delivery (the defaults if none was chosen), secrets hidden."""
    async with engine.connect() as conn:
        return await read_delivery(conn, kek, agency_id)


async def read_delivery(
    conn: AsyncConnection, kek: KeyEncryptionKey, agency_id: str
) -> ChosenDelivery:
    """The agency's delivery (the defaults if none was chosen), secrets hidden."""
    await _require_agency(conn, agency_id)
    settings = await delivery_of(conn, agency_id)
    config = read_config(kek, agency_id, settings.config)
    return ChosenDelivery(agency_id, settings.transport, settings.format, _redacted(config))
