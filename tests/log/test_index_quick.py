"""The quick index comparison (``hub.log.index_quick``) against the exact one, on entries of
every shape hypothesis finds, appended by the hub's own code to SQLite and PostgreSQL: it
passes every honestly written range, and fails every range with a row removed, added or
changed (where the exact comparison then names the entry)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from engines import ENGINES
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.log import append, index_quick
from hub.log.entries import KINDS, EntryBasis, EntryOverride, LogEntry
from hub.log.index_check import find_fault
from hub.log.index_pass import read_entries
from hub.log.tables import log_index, log_index_cases, log_index_categories, log_index_subjects
from hub.storage.engine import create_engine
from hub.storage.schema import migrate
from hub.testing import migrated_sqlite, postgres_database

_TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=12
)
_NAMES = st.none() | st.lists(_TEXT, max_size=4).map(tuple)
_ENTRY = st.builds(
    LogEntry,
    kind=st.sampled_from(KINDS),
    at=st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)),
    actor=_TEXT,
    envelope_id=st.sampled_from([None, "envelope"]),  # made unique as appended
    recipient=st.none() | _TEXT,
    agency=st.none() | _TEXT,
    purpose=st.none() | _TEXT,
    basis=st.none() | st.builds(EntryBasis, id=_TEXT, version=_TEXT),
    override=st.none() | st.builds(EntryOverride, id=_TEXT, justification_sha256=st.just("a" * 64)),
    case_refs=_NAMES,
    subject_ids=_NAMES,
    data_categories=_NAMES,
)


class Log:
    """A migrated database and an event loop of its own, for a synchronous hypothesis test
    that appends each example after the last."""

    def __init__(self, engine_name: str, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._pg: Any = None
        if engine_name == "sqlite":
            self.run(migrated_sqlite(tmp_path / "log.sqlite3"))
            url = f"sqlite+aiosqlite:///{tmp_path / 'log.sqlite3'}"
        else:
            self._pg = postgres_database()
            try:
                url = self.run(self._pg.__aenter__())
            except OSError as exc:
                self.loop.close()
                pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
        self.engine: AsyncEngine = create_engine(url)
        self.run(migrate(self.engine))
        self.size = 0
        self.envelopes = itertools.count()

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def add(self, entries: list[LogEntry]) -> tuple[int, int]:
        """Append as the hub does; the range the entries took."""
        entries = [
            e.model_copy(update={"envelope_id": f"E-{next(self.envelopes)}"})
            if e.envelope_id
            else e
            for e in entries
        ]

        async def go() -> None:
            async with self.engine.begin() as conn:
                await append(conn, entries)

        self.run(go())
        low, self.size = self.size, self.size + len(entries)
        return low, self.size

    def compare(self, low: int, high: int) -> tuple[bool, int | None]:
        """The quick comparison's answer and the entry the exact one names."""

        async def go() -> tuple[bool, int | None]:
            async with self.engine.connect() as conn:

                def both(sync: Any) -> tuple[bool, int | None]:
                    chunk = read_entries(sync, low, high)
                    fault = find_fault(sync, chunk)
                    return index_quick.same_connection(sync, chunk), fault and fault.index

                result: tuple[bool, int | None] = await conn.run_sync(both)
                return result

        result: tuple[bool, int | None] = self.run(go())
        return result

    def sql(self, statement: Any) -> None:
        async def go() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(statement)

        self.run(go())

    def close(self) -> None:
        self.run(self.engine.dispose())
        if self._pg is not None:
            self.run(self._pg.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(params=ENGINES)
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    made = Log(request.param, tmp_path)
    try:
        yield made
    finally:
        made.close()


_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(entries=st.lists(_ENTRY, min_size=1, max_size=6))
def test_every_honestly_written_range_passes_the_quick_comparison(
    log: Log, entries: list[LogEntry]
) -> None:
    low, high = log.add(entries)
    assert log.compare(low, high) == (True, None)


_SIDES = [
    (log_index_cases, "case_ref"),
    (log_index_subjects, "subject_id"),
    (log_index_categories, "category"),
]


@_SETTINGS
@given(
    entries=st.lists(_ENTRY, min_size=1, max_size=4),
    pick=st.integers(0, 3),
    how=st.sampled_from(["remove a side row", "add a side row", "change a column"]),
    value=_TEXT,
)
def test_a_removed_added_or_changed_row_fails_it_and_the_exact_comparison_names_the_entry(
    log: Log, entries: list[LogEntry], pick: int, how: str, value: str
) -> None:
    keys = entries[pick % len(entries)]
    table, column = _SIDES[pick % 3]
    held = getattr(keys, ("case_refs", "subject_ids", "data_categories")[pick % 3]) or ()
    assume(
        bool(held)
        if how == "remove a side row"
        else value not in held
        if how == "add a side row"
        else keys.purpose != value
    )
    low, high = log.add(entries)
    idx = low + pick % len(entries)
    if how == "remove a side row":
        log.sql(delete(table).where(table.c.idx == idx, table.c[column] == held[0]))
    elif how == "add a side row":
        log.sql(insert(table).values(idx=idx, **{column: value}))
    else:
        log.sql(update(log_index).where(log_index.c.idx == idx).values(purpose=value))
    assert log.compare(low, high) == (False, idx)
