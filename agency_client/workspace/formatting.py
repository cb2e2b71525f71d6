"""One way to write dates and times on every page: ``Thu 10 Dec 2026``, ``10 Dec 2026 14:05``
(times in this machine's local time zone, with its name)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

from hub.protocol.envelope import parse_timestamp
from hub.protocol.errors import HubError

__all__ = ["as_date", "format_date", "format_time", "humanize"]

_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ACRONYMS: Final = {"marac": "MARAC", "fhir": "FHIR", "pole": "POLE", "id": "ID", "dash": "DASH"}
_WORDS: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\-.\s]+")


def as_date(value: object) -> date | None:
    """``value`` as a date if it is one (or an ISO ``YYYY-MM-DD`` string), else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def format_date(value: object) -> str:
    """``Thu 10 Dec 2026``; anything that is not a date, as it is (``-`` for None)."""
    if value is None or value == "":
        return "-"
    day = as_date(value)
    if day is None:
        return str(value)
    return f"{day:%a} {day.day} {day:%b %Y}"


def format_time(value: object) -> str:
    """``10 Dec 2026 14:05 GMT`` in local time; a timestamp string is parsed first."""
    if value is None or value == "":
        return "-"
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            moment = parse_timestamp(value)
        except (HubError, ValueError):
            return value
    if moment is None:
        return str(value)
    local = moment.astimezone()
    return f"{local.day} {local:%b %Y %H:%M} {local.tzname() or ''}".rstrip()


def humanize(name: str) -> str:
    """``birthDate``, ``date_of_birth``, ``case-ref`` as ``Birth date``-style words."""
    words = [w for w in _WORDS.split(name) if w]
    text = " ".join(_ACRONYMS.get(w.lower(), w.lower()) for w in words)
    return text[:1].upper() + text[1:]
