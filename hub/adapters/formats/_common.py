"""Helpers of the bundled formats: error locations that never echo a value."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

from pydantic import ValidationError

from hub.adapters.formats import FormatError, bounded
from hub.protocol.messages import ActionSummary, Agenda, Message, Minutes

__all__ = ["MessageRenderer", "bounded", "meeting_actions", "pydantic_problems", "where"]


class MessageRenderer(ABC):
    """Base of the bundled document formats: refuse other types, validate what is built."""

    name: ClassVar[str]
    kind: ClassVar[Literal["format"]] = "format"
    renders: ClassVar[frozenset[str]] = frozenset({"case_extract", "agenda", "minutes"})

    def render(self, message: Message) -> dict[str, Any]:
        """The document for ``message``; it passes :meth:`validate` before it is returned."""
        if message.message_type not in self.renders:
            raise FormatError(f"{self.name} does not render {message.message_type} messages")
        document = self.build(message)
        self.validate(document)
        return document

    @abstractmethod
    def build(self, message: Message) -> dict[str, Any]:
        """The document for a message of a type in ``renders``."""

    @abstractmethod
    def validate(self, document: object) -> None:
        """Raise ``FormatError`` unless ``document`` is valid in this format."""


def meeting_actions(message: Agenda | Minutes) -> tuple[ActionSummary, ...]:
    """An agenda's carried-forward actions, or every action the minutes record."""
    if isinstance(message, Agenda):
        return message.carried_forward
    return tuple(action for item in message.items for action in item.actions)


def where(path: Iterable[object]) -> str:
    """A dotted location (``entry.0.resource.name``); keys are shortened, never values."""
    return ".".join(str(part)[:40] for part in path) or "(document)"


def pydantic_problems(exc: ValidationError, limit: int = 5) -> str:
    """``location: error type`` for the first few errors; an unknown key is not repeated."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:limit]:
        loc = err["loc"]
        if err["type"] == "extra_forbidden":  # the key is input: do not echo it
            loc = (*loc[:-1], "(unknown field)")
        parts.append(f"{where(loc)}: {err['type']}")
    return "; ".join(parts)
