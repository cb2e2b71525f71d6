"""``json``: the typed message, exactly as the hub has always sealed it."""

from __future__ import annotations

from typing import Any, Final, Literal

from hub.adapters.formats import FormatError
from hub.adapters.formats._common import bounded
from hub.protocol.errors import ProtocolError
from hub.protocol.messages import RENDERED_TYPES, Message, parse_message, payload_of

__all__ = ["JsonFormat"]


class JsonFormat:
    """The default format: the hub seals the typed message itself (no ``Rendered`` wrapper)."""

    name: Final = "json"
    kind: Final[Literal["format"]] = "format"
    renders: Final = frozenset[str]()  # nothing is rendered: the message is the document

    def render(self, message: Message) -> dict[str, Any]:
        """The message's JSON payload (``payload_of``)."""
        return payload_of(message)

    def validate(self, document: object) -> None:
        """Valid if it is the payload of some message type the hub sends to agencies."""
        doc = bounded(document, self.name)
        for message_type in sorted(RENDERED_TYPES):
            try:
                parse_message(message_type, doc)
            except ProtocolError:
                continue
            return
        raise FormatError("the json document is not a message the hub sends")
