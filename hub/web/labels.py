"""How the web pages show coded values, yes/no and dates: one table, one format.

The templates use the filters ``install`` adds: ``label`` (a coded value such as
``white_british`` or ``in_progress`` as words), ``yesno``, ``shown`` (any value of a
person's record: yes/no, a list, a coded value), ``day`` (``2026-12-06``) and ``when``
(``2026-12-06 00:23 UTC``: every time is shown in UTC, and says so).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Final

import jinja2

__all__ = ["LABELS", "day", "install", "label", "shown", "when", "yesno"]

# Coded values whose words are not just the code with spaces: abbreviations, proper
# nouns, punctuation. Any other snake_case code reads as its words ("not_known": "Not known").
LABELS: Final[dict[str, str]] = {
    "idva": "IDVA",
    "dash": "DASH",
    "dara": "DARA",
    "api": "API",
    "cli": "command line",
    "web": "web UI",
    "dpo": "DPO",
    "white_british": "White British",
    "white_irish": "White Irish",
    "mixed_white_black_caribbean": "Mixed: White and Black Caribbean",
    "mixed_white_black_african": "Mixed: White and Black African",
    "mixed_white_asian": "Mixed: White and Asian",
    "asian_british_indian": "Asian or Asian British: Indian",
    "asian_british_pakistani": "Asian or Asian British: Pakistani",
    "asian_british_bangladeshi": "Asian or Asian British: Bangladeshi",
    "black_british_caribbean": "Black or Black British: Caribbean",
    "black_british_african": "Black or Black British: African",
    "sought_given": "Sought and given",
    "sought_refused": "Sought and refused",
    "fhir_r4": "FHIR R4",
    "childrens_services": "Children's services",
    "key_registered": "Key registered",
    "key_rotated": "Key rotated",
    "key_revoked": "Key revoked",
}
_CODE: Final = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+")


def label(value: object) -> str:
    """A coded value in words: from ``LABELS``, else a snake_case code with spaces and a
    capital (``in_progress``: "In progress"); anything else as it is."""
    text = "" if value is None else str(value)
    if text in LABELS:
        return LABELS[text]
    if "_" in text and _CODE.fullmatch(text):
        words = text.replace("_", " ")
        return words[0].upper() + words[1:]
    return text


def yesno(value: object) -> str:
    """A flag as Yes or No."""
    return "Yes" if value else "No"


def shown(value: object) -> str:
    """A value of a person's record as the page shows it: flags as Yes/No, lists joined,
    dates as ``day``, coded values as words."""
    if isinstance(value, bool):
        return yesno(value)
    if isinstance(value, datetime | date):
        return when(value) if isinstance(value, datetime) else day(value)
    if isinstance(value, list | tuple):
        return ", ".join(shown(v) for v in value)
    return label(value)


def day(value: date | str | None) -> str:
    """A date as ``2026-12-06`` (a time's date in UTC)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = _parse(value)
    if isinstance(value, datetime):
        value = _utc(value).date()
    return value.isoformat()


def when(value: datetime | str | None) -> str:
    """A moment as ``2026-12-06 00:23 UTC`` (a naive time is taken as UTC, as stored)."""
    if value is None:
        return ""
    moment = _parse(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return moment.isoformat()
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _parse(text: str) -> date:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return date.fromisoformat(text)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def install(env: jinja2.Environment) -> None:
    """Add the filters to the web UI's template environment."""
    env.filters.update(label=label, yesno=yesno, shown=shown, day=day, when=when)
