"""OpenAPI models of the routes that change what was sent: a referral's amendments and a
meeting cancelled or moved (issue 25)."""

from __future__ import annotations

from typing import Any

from hub.service.openapi_models import MeetingOut, SendResult, Timestamp, _In, _Out

__all__ = [
    "AmendmentBody",
    "AmendmentList",
    "AmendmentOut",
    "Amended",
    "MeetingChanged",
    "MoveBody",
]


class AmendmentBody(_In):
    """The fields to change: an RFC 7396 merge patch over the referral (the form of
    docs/referrals.md; ``null`` removes an optional field; a list is replaced whole)."""

    changes: dict[str, Any]


class Amended(_Out):
    """The version the amendment made, the fields it changed (names only) and the
    re-sent extracts' outcomes (one per agency whose agenda rule covers a changed field)."""

    case_ref: str
    version: int
    fields: list[str]
    resent: list[SendResult]


class AmendmentOut(_Out):
    """One amendment: who, when, through which door, which fields (never values)."""

    version: int
    amended_at: Timestamp
    amended_by: str
    door: str
    fields: list[str]


class AmendmentList(_Out):
    """A case's amendments, oldest first."""

    case_ref: str
    amendments: list[AmendmentOut]


class MoveBody(_In):
    """The meeting's new date (YYYY-MM-DD, today or later) and optionally its new place."""

    date: str
    location: str | None = None


class MeetingChanged(MeetingOut):
    """The meeting cancelled or moved, and the sealed notice's outcome for each agency
    that had been sent its agenda."""

    told: list[SendResult]
