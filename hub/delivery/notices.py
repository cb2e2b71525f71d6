"""Free-text notices from a coordinator to one agency or to all active agencies."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.agencies import get_agency
from hub.delivery.outbox import active_agencies, queue_message
from hub.hub_keys import HubKeys
from hub.protocol.errors import HubError, ProtocolError
from hub.protocol.messages import Notice
from hub.settings import Settings

__all__ = ["send_notice"]


async def send_notice(
    engine: AsyncEngine,
    keys: HubKeys,
    settings: Settings,
    *,
    to: str,
    text: str,
    case_ref: str | None,
    sent_by: str,
) -> list[tuple[str, str]]:
    """Seal and queue a notice in one transaction; ``to`` is an agency id or ``all``."""
    if not text or len(text) > 20_000:
        raise ProtocolError("a notice is 1 to 20 000 characters")
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        ids = await active_agencies(conn) if to == "all" else [to]
        recipients = []
        for agency_id in ids:
            agency = await get_agency(conn, agency_id)
            if agency is None:
                raise HubError("no such agency", code="not-found")
            recipients.append(agency)
        return await queue_message(
            conn,
            Notice(text=text),
            recipients,
            hub_identity=keys.identity,
            hub_id=settings.hub_id,
            now=now,
            ttl=settings.envelope_ttl,
            case_ref=case_ref,
            sent_by=sent_by,
        )
