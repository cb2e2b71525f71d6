"""Entries the log storage tests append."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.log import LogEntry

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def make_entry(n: int) -> LogEntry:
    return LogEntry(
        kind="disclosure",
        at=AT,
        actor="hub",
        envelope_id=f"ENV{n:023d}",
        recipient=f"agency-{n % 3}",
        purpose="agenda",
        case_refs=(f"C-{n % 5}",),
        data_categories=("identity", "risk"),
    )
