"""The workflow's pure rules: agenda order, the referral clock, working days, statuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from hub.meetings.rules import (
    check_update,
    is_overdue,
    order_cases,
    positions,
    referral_clock,
    should_chase,
    working_days_before,
)
from hub.protocol.errors import HubError


@dataclass(frozen=True)
class Item:
    ref: str
    has_children: bool
    referred_on: date


def test_children_first_then_referral_date_then_ref() -> None:
    items = [
        Item("M-2026-0004", False, date(2026, 1, 1)),
        Item("M-2026-0003", True, date(2026, 2, 1)),
        Item("M-2026-0002", True, date(2026, 1, 15)),
        Item("M-2026-0001", False, date(2026, 1, 1)),
        Item("M-2026-0005", True, date(2026, 1, 15)),
    ]
    assert [i.ref for i in order_cases(items)] == [
        "M-2026-0002",
        "M-2026-0005",
        "M-2026-0003",
        "M-2026-0001",
        "M-2026-0004",
    ]
    assert positions(["b", "a"]) == {"b": 1, "a": 2}
    assert order_cases([]) == []


@pytest.mark.parametrize(
    ("referred", "meeting", "days", "left", "breached"),
    [
        (date(2026, 1, 1), date(2026, 2, 12), 42, 0, False),  # exactly on target
        (date(2026, 1, 1), date(2026, 2, 13), 43, -1, True),  # one day late
        (date(2026, 1, 1), date(2026, 1, 8), 7, 35, False),
        (date(2026, 1, 10), date(2026, 1, 8), -2, 44, False),  # referred after the date
    ],
)
def test_referral_clock(
    referred: date, meeting: date, days: int, left: int, breached: bool
) -> None:
    clock = referral_clock(referred, meeting, 42)
    assert (clock.days, clock.days_left, clock.breached, clock.target) == (
        days,
        left,
        breached,
        42,
    )


def test_clock_follows_the_areas_target() -> None:
    assert referral_clock(date(2026, 1, 1), date(2026, 1, 31), 28).breached
    assert not referral_clock(date(2026, 1, 1), date(2026, 1, 31), 30).breached


@pytest.mark.parametrize(
    ("meeting", "expected"),
    [
        (date(2026, 3, 12), date(2026, 3, 10)),  # Thursday -> Tuesday
        (date(2026, 3, 9), date(2026, 3, 5)),  # Monday -> Thursday before
        (date(2026, 3, 10), date(2026, 3, 6)),  # Tuesday -> Friday
        (date(2026, 3, 8), date(2026, 3, 5)),  # a Sunday meeting -> Thursday
    ],
)
def test_working_days_before(meeting: date, expected: date) -> None:
    assert working_days_before(meeting, 2) == expected
    assert working_days_before(meeting, 0) == meeting


def test_overdue_and_chasing_once_a_day() -> None:
    due, today = date(2026, 3, 1), date(2026, 3, 5)
    assert is_overdue("open", due, today)
    assert is_overdue("in_progress", due, today)
    assert not is_overdue("open", due, due)  # due today is not overdue yet
    assert not is_overdue("completed", due, today)
    assert not is_overdue("cancelled", due, today)
    assert should_chase("open", due, None, today)
    assert should_chase("open", due, date(2026, 3, 4), today)
    assert not should_chase("open", due, today, today)
    assert not should_chase("completed", due, None, today)


def test_status_rules() -> None:
    due, before, after = date(2026, 3, 1), date(2026, 2, 20), date(2026, 3, 2)
    check_update("open", "in_progress", reason=None, due_date=due, today=before)
    check_update("open", "completed", reason=None, due_date=due, today=after)
    check_update("in_progress", "open", reason="waiting on a reply", due_date=due, today=after)
    for current, new, reason, today, code in [
        ("open", "cancelled", None, before, "reason-required"),
        ("open", "in_progress", None, after, "reason-required"),
        ("open", "open", "", after, "reason-required"),
        ("completed", "open", "reopen", before, "conflict"),
        ("cancelled", "completed", None, before, "conflict"),
        ("open", "done", None, before, "malformed"),
    ]:
        with pytest.raises(HubError) as caught:
            check_update(current, new, reason=reason, due_date=due, today=today)
        assert caught.value.code == code
