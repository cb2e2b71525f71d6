"""The workspace's forms, parsed: a research response (draft or to send) and an action update.

Hostile input is bounded before anything else: at most ``MAX_ROWS`` rows of each kind
are read, every text at most ``MAX_TEXT`` characters; what a form cannot be is one
plain sentence per problem, naming the row, never echoing the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, get_args

from hub.protocol.messages import ActionStatus

__all__ = [
    "BLANK_ROWS",
    "MAX_ROWS",
    "MAX_TEXT",
    "STATUSES",
    "ActionForm",
    "ResearchForm",
    "parse_action",
    "parse_research",
]

MAX_ROWS: Final = 100
MAX_TEXT: Final = 20_000
BLANK_ROWS: Final = 2
STATUSES: Final = get_args(ActionStatus)


@dataclass(slots=True)
class ResearchForm:
    """What the research form holds: complete or not (a draft may be half-done)."""

    nothing_known: bool = False
    items: list[dict[str, str]] = field(default_factory=list)
    withheld: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_draft(self) -> dict[str, Any]:
        """What is kept (sealed) as the draft."""
        return {"nothing_known": self.nothing_known, "items": self.items, "withheld": self.withheld}

    @classmethod
    def from_draft(cls, draft: Mapping[str, Any]) -> ResearchForm:
        """A form from a stored draft."""
        return cls(
            nothing_known=bool(draft.get("nothing_known")),
            items=[_strings(i, ("text", "kind", "recorded_on")) for i in draft.get("items", [])],
            withheld=[_strings(w, ("description", "reason")) for w in draft.get("withheld", [])],
        )

    def answer(self) -> dict[str, Any]:
        """The answer ``research_response`` takes (call only when ``errors`` is empty)."""
        items = []
        for item in self.items:
            one: dict[str, Any] = {"text": item["text"], "kind": item["kind"]}
            if item.get("recorded_on"):
                one["recorded_on"] = item["recorded_on"]
            items.append(one)
        return {
            "nothing_known": self.nothing_known,
            "items": items,
            "withheld": [dict(w) for w in self.withheld],
        }

    def rows(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """Items and withheld rows to show: the filled ones and ``BLANK_ROWS`` blank more."""
        items = self.items + [{"text": "", "kind": "", "recorded_on": ""}] * BLANK_ROWS
        withheld = self.withheld + [{"description": "", "reason": ""}] * BLANK_ROWS
        return items[:MAX_ROWS], withheld[:MAX_ROWS]


def _strings(node: object, keys: tuple[str, ...]) -> dict[str, str]:
    source = node if isinstance(node, Mapping) else {}
    return {k: str(source.get(k) or "")[:MAX_TEXT] for k in keys}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip().replace("\r\n", "\n") if isinstance(value, str) else ""


def parse_research(form: Mapping[str, Any]) -> ResearchForm:
    """The research form as posted: rows ``item-N-*`` and ``withheld-N-*``, N < MAX_ROWS."""
    parsed = ResearchForm(nothing_known=form.get("nothing_known") == "yes")
    for n in range(MAX_ROWS):
        text, kind = _text(form, f"item-{n}-text"), _text(form, f"item-{n}-kind")
        recorded = _text(form, f"item-{n}-recorded_on")
        if not (text or recorded):
            continue
        row = n + 1
        if len(text) > MAX_TEXT:
            parsed.errors.append(f"Item {row} is longer than {MAX_TEXT} characters.")
            text = text[:MAX_TEXT]
        if not text:
            parsed.errors.append(f"Item {row} has a date but no text.")
        if kind not in ("fact", "opinion"):
            parsed.errors.append(f"Say whether item {row} is a fact or an opinion.")
            kind = ""
        if recorded and not _is_date(recorded):
            parsed.errors.append(f"The date of item {row} is not a date (use the date picker).")
            recorded = ""
        parsed.items.append({"text": text, "kind": kind, "recorded_on": recorded})
    _parse_withheld(form, parsed)
    if parsed.nothing_known and parsed.items:
        parsed.errors.append("You ticked 'nothing known' and also gave items: choose one.")
    if not parsed.nothing_known and not parsed.items and not parsed.withheld:
        parsed.errors.append(
            "Give at least one item, or tick 'nothing known' if your records hold nothing."
        )
    return parsed


def _parse_withheld(form: Mapping[str, Any], parsed: ResearchForm) -> None:
    for n in range(MAX_ROWS):
        description = _text(form, f"withheld-{n}-description")
        reason = _text(form, f"withheld-{n}-reason")
        if not (description or reason):
            continue
        row = n + 1
        if len(description) > MAX_TEXT or len(reason) > MAX_TEXT:
            parsed.errors.append(f"Withheld item {row} is longer than {MAX_TEXT} characters.")
            description, reason = description[:MAX_TEXT], reason[:MAX_TEXT]
        if not description:
            parsed.errors.append(f"Describe withheld item {row} (what it is, not what it says).")
        if not reason:
            parsed.errors.append(f"Give the reason withheld item {row} is withheld.")
        parsed.withheld.append({"description": description, "reason": reason})


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


@dataclass(slots=True)
class ActionForm:
    """An action update as posted."""

    status: str
    note: str | None
    reason: str | None
    errors: list[str] = field(default_factory=list)


def parse_action(form: Mapping[str, Any]) -> ActionForm:
    """Status (one of the protocol's), an optional note and reason."""
    status = _text(form, "status")
    note, reason = _text(form, "note") or None, _text(form, "reason") or None
    parsed = ActionForm(status, note, reason)
    if status not in STATUSES:
        parsed.errors.append("Choose the action's status.")
    for label, value in (("note", note), ("reason", reason)):
        if value is not None and len(value) > MAX_TEXT:
            parsed.errors.append(f"The {label} is longer than {MAX_TEXT} characters.")
    if status == "cancelled" and not reason:
        parsed.errors.append("Give the reason the action is cancelled.")
    return parsed
