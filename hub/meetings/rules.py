"""The workflow's pure rules: agenda order, the referral clock, working days, statuses.

No database and no clock of its own: every function takes the dates it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Protocol, TypeVar

from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "ACTION_STATUSES",
    "CLOSED",
    "DEFAULT_TARGET_DAYS",
    "OPEN",
    "Clock",
    "Orderable",
    "check_update",
    "is_overdue",
    "order_cases",
    "positions",
    "referral_clock",
    "should_chase",
    "working_days_before",
]

DEFAULT_TARGET_DAYS: Final = 42
ACTION_STATUSES: Final = ("open", "in_progress", "completed", "cancelled")
OPEN: Final = frozenset({"open", "in_progress"})
CLOSED: Final = frozenset({"completed", "cancelled"})


class Orderable(Protocol):
    """What agenda ordering looks at."""

    @property
    def ref(self) -> str: ...
    @property
    def has_children(self) -> bool: ...
    @property
    def referred_on(self) -> date: ...


T = TypeVar("T", bound=Orderable)


def order_cases(items: Iterable[T]) -> list[T]:
    """Children's cases first, then by referral date, then by case reference."""
    return sorted(items, key=lambda i: (not i.has_children, i.referred_on, i.ref))


@dataclass(frozen=True, slots=True)
class Clock:
    """Referral to meeting: days taken, days left against the target, breached or not."""

    days: int
    target: int
    days_left: int
    breached: bool


def referral_clock(referred_on: date, meeting_date: date, target_days: int) -> Clock:
    """The clock of a case referred on ``referred_on`` heard on ``meeting_date``."""
    days = (meeting_date - referred_on).days
    return Clock(days, target_days, target_days - days, days > target_days)


def working_days_before(day: date, count: int) -> date:
    """The date ``count`` working days (Monday to Friday) before ``day``.

    Bank holidays are not known to the hub; a coordinator may give ``respond_by``.
    """
    current = day
    left = count
    while left > 0:
        current -= timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def is_overdue(status: str, due_date: date, today: date) -> bool:
    """An action not completed or cancelled by its due date."""
    return status in OPEN and due_date < today


def should_chase(status: str, due_date: date, last_chased_on: date | None, today: date) -> bool:
    """Chase an overdue action at most once a day."""
    return is_overdue(status, due_date, today) and last_chased_on != today


def check_update(
    current: str, new: str, *, reason: str | None, due_date: date, today: date
) -> None:
    """Refuse an update the status rules forbid.

    Completed and cancelled actions are closed; a cancellation needs a reason, and so
    does an action still open or in progress after its due date.
    """
    if new not in ACTION_STATUSES:
        raise ProtocolError(f"status must be one of {', '.join(ACTION_STATUSES)}")
    if current in CLOSED:
        raise HubError(f"the action is {current}: it cannot change", code="conflict")
    if new == "cancelled" and not reason:
        raise ProtocolError("a cancelled action needs a reason", code="reason-required")
    if new in OPEN and due_date < today and not reason:
        raise ProtocolError(
            "the action is past its due date: say why it is not completed",
            code="reason-required",
        )


def positions(refs: Sequence[str]) -> dict[str, int]:
    """Agenda positions (from 1) of case references already in agenda order."""
    return {ref: i for i, ref in enumerate(refs, start=1)}
