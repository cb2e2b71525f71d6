"""Which transport and format each agency's envelopes use (``agency_delivery``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.delivery.tables import agency_delivery

__all__ = ["DEFAULT", "DeliverySettings", "deliveries_of", "delivery_of", "set_delivery"]


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """An agency's transport and format; ``config`` is the encrypted transport settings."""

    transport: str = "mailbox"
    format: str = "json"
    config: bytes | None = None


DEFAULT = DeliverySettings()


async def delivery_of(conn: AsyncConnection, agency_id: str) -> DeliverySettings:
    """The agency's delivery settings (the defaults if none were set)."""
    return (await deliveries_of(conn, [agency_id])).get(agency_id, DEFAULT)


async def deliveries_of(
    conn: AsyncConnection, agency_ids: Collection[str]
) -> dict[str, DeliverySettings]:
    """The delivery settings of those of ``agency_ids`` that set any, in one query."""
    if not agency_ids:
        return {}
    rows = await conn.execute(_OF, {"ids": list(agency_ids)})
    return {r.agency_id: DeliverySettings(r.transport, r.format, r.config) for r in rows}


_OF: Final = select(agency_delivery).where(
    agency_delivery.c.agency_id.in_(bindparam("ids", expanding=True))
)


async def set_delivery(
    conn: AsyncConnection,
    agency_id: str,
    settings: DeliverySettings,
    *,
    now: datetime,
    by: str | None,
) -> None:
    """Replace the agency's delivery settings, in the caller's transaction."""
    await conn.execute(delete(agency_delivery).where(agency_delivery.c.agency_id == agency_id))
    await conn.execute(
        agency_delivery.insert().values(
            agency_id=agency_id,
            transport=settings.transport,
            format=settings.format,
            config=settings.config,
            updated_at=now,
            updated_by=by,
        )
    )
