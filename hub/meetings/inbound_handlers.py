"""Handlers for what agencies send back: research responses and action updates.

Imported once by the service (``hub.service.routes_meetings``) so the handlers are
registered before the first message arrives. ``ctx.keys`` is the hub's keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency
from hub.inbound import handler
from hub.meetings.actions import agency_update
from hub.meetings.research import store_response
from hub.protocol.messages import ActionUpdate, Message, ResearchResponse

__all__ = ["on_action_update", "on_research_response"]


@handler(ResearchResponse.message_type)
async def on_research_response(
    conn: AsyncConnection,
    ctx: Any,
    agency: Agency,
    message: Message,
    envelope_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Store a research response from the agency it was requested of."""
    assert isinstance(message, ResearchResponse)
    return await store_response(
        conn, ctx.keys, agency.id, message, envelope_id=envelope_id, now=now
    )


@handler(ActionUpdate.message_type)
async def on_action_update(
    conn: AsyncConnection,
    ctx: Any,
    agency: Agency,
    message: Message,
    envelope_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Keep an update from the agency owning the action."""
    assert isinstance(message, ActionUpdate)
    action = await agency_update(
        conn,
        ctx.keys,
        agency.id,
        action_id=message.action_id,
        case_ref=message.case_ref,
        status=message.status,
        note=message.note,
        reason=message.reason,
        now=now,
        envelope_id=envelope_id,
    )
    return {"action_id": action.id, "status": action.status}
