"""Step 3, render: a built message in the recipient agency's format (JSON keeps it as it
is; FHIR R4, POLE or a third party's format render the types they know)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.adapters.formats import FormatError, bounded, load_format
from hub.delivery.settings import delivery_of
from hub.protocol.errors import DeliveryError
from hub.protocol.messages import Message, Rendered

__all__ = ["render", "render_for"]


async def render_for(conn: AsyncConnection, agency_id: str, message: Message) -> Message:
    """``message`` rendered in the agency's format, or itself (json, or a type not rendered)."""
    return render(agency_id, (await delivery_of(conn, agency_id)).format, message)


def render(agency_id: str, name: str, message: Message) -> Message:
    try:
        fmt = load_format(name)
    except FormatError:
        raise DeliveryError(
            f"agency {agency_id}'s format {name[:40]!r} is not installed", code="unknown-format"
        ) from None
    if message.message_type not in fmt.renders:
        return message
    document = bounded(fmt.render(message), fmt.name)  # a third party's format too
    return Rendered(format=fmt.name, original_type=message.message_type, document=document)
