"""Messages the hub rendered in this agency's format (FHIR R4, POLE, ...).

An agency set to a format other than ``json`` receives case extracts, agendas and minutes
as a ``rendered`` message: the format's name, the original message type and the document
itself. The client stores the message as it came and hands the *document*, as it is, to
the sink (a FHIR Bundle, a POLE document), so the agency's own system imports it
directly; ``show`` and ``open`` print it. Everything else is handed on as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.protocol.messages import Rendered, parse_message

__all__ = ["Content", "content_of"]


@dataclass(frozen=True, slots=True)
class Content:
    """What a message holds for the agency: its format, its own type and its document."""

    format: str
    message_type: str
    document: dict[str, Any]


def content_of(message_type: str, payload: Mapping[str, Any]) -> Content:
    """The document inside a rendered payload, or the typed payload itself (``json``).

    A rendered payload that does not parse raises ``ProtocolError`` (it was signed by the
    hub, so this is a hub fault, not an attack: the message stays stored).
    """
    if message_type != Rendered.message_type:
        return Content("json", message_type, dict(payload))
    rendered = parse_message(message_type, dict(payload))
    assert isinstance(rendered, Rendered)
    return Content(rendered.format, rendered.original_type, dict(rendered.document))
