"""The web pages' labels table, date format and chart axis (hub.web.labels, hub.web.charts)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from hub.web.charts import bar_chart
from hub.web.labels import day, label, shown, when, yesno


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("white_british", "White British"),
        ("in_progress", "In progress"),
        ("visible_high_risk", "Visible high risk"),
        ("sought_given", "Sought and given"),
        ("key_registered", "Key registered"),
        ("idva", "IDVA"),
        ("cli", "command line"),
        # Not codes: identifiers and free text stay as they are.
        ("police-north", "police-north"),
        ("M-2026-0001", "M-2026-0001"),
        ("victim.name", "victim.name"),
        ("Alice Smith_Jones", "Alice Smith_Jones"),
        (None, ""),
    ],
)
def test_a_coded_value_reads_as_words(code: str | None, words: str) -> None:
    assert label(code) == words


def test_flags_lists_and_dates_of_a_person_read_as_words() -> None:
    assert (yesno(True), yesno(False)) == ("Yes", "No")
    assert shown(True) == "Yes" and shown(False) == "No"
    assert shown(["not_known", "Alice Jones"]) == "Not known, Alice Jones"
    assert shown(date(2026, 1, 2)) == "2026-01-02"


def test_every_moment_is_one_format_in_utc() -> None:
    expected = "2026-12-06 00:23 UTC"
    assert when("2026-12-06T00:23:58.777517Z") == expected
    assert when(datetime(2026, 12, 6, 0, 23, 58)) == expected  # stored naive: UTC
    assert when(datetime(2026, 12, 6, 1, 23, tzinfo=timezone(timedelta(hours=1)))) == expected
    assert when(None) == ""
    assert day(datetime(2026, 12, 6, 23, 59, tzinfo=UTC)) == "2026-12-06"
    assert day("2026-12-06") == "2026-12-06"


def _axis_and_bars(svg: str) -> tuple[int, float, float]:
    """The top tick's value and y, and the y of the tallest bar's top."""
    ticks = re.findall(
        r'y1="([\d.]+)" y2="[\d.]+" stroke="#b1b4b6".*?text-anchor="end">(\d+)<', svg
    )
    top_y, top_value = min((float(y), int(v)) for y, v in ticks)
    bars = [float(y) for y in re.findall(r'<rect x="[\d.]+" y="([\d.]+)"[^>]*><title>', svg)]
    return top_value, top_y, min(bars)


@pytest.mark.parametrize("tallest", [*range(1, 40), 41, 59, 99, 101, 257, 999, 1001, 4321])
def test_the_chart_axis_reaches_the_tallest_bar(tallest: int) -> None:
    svg = str(bar_chart("c", "Chart", ["a", "b"], [("s", [tallest, max(1, tallest // 3)])]))
    top_value, top_y, bar_y = _axis_and_bars(svg)
    assert top_value >= tallest
    assert top_y <= bar_y + 0.05  # the top gridline is at or above the bar's top
    assert top_value < 2.5 * tallest + 1  # and the bar still fills a good part of the plot
