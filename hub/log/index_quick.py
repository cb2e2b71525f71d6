"""The quick comparison of the search index with the entries, a range of entries at a time.

What the rows must be comes from ``hub.log.search_keys`` applied to the entries' fields as
msgspec decodes them from the stored bytes; what they are is read straight from the driver,
in index order, with the database rendering ``at`` as the entries' own text and
``override`` as 0 or 1. Both sides are lists of plain tuples in the same order, so one
list comparison, in C, decides a range. This is a filter: a range it passes has exactly
the rows its entries say (equal text is an equal instant; equal tuples are equal rows);
a range it fails is compared again the exact way (``hub.log.index_check``), which names
the entry or finds the difference was only one of form.

``same_sqlite`` works on a plain ``sqlite3`` connection (the helper process of
``hub.log.index_pass``); ``same_connection`` on the caller's SQLAlchemy connection, on
SQLite or PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from hub.log import search_keys

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["RANGE", "expected", "same_connection", "same_sqlite", "statements"]

RANGE: Final = 1000  # entries compared at once (small ranges reuse the same memory)
_SIDES: Final = (
    ("log_index_cases", "case_ref"),
    ("log_index_subjects", "subject_id"),
    ("log_index_categories", "category"),
)
_AT: Final = {
    "sqlite": "replace(at, ' ', 'T') || 'Z'",  # SQLAlchemy's text for a UTC DateTime
    "postgresql": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
}
_ORDER: Final = {"sqlite": "", "postgresql": ' COLLATE "C"'}  # code point order, as Python's

Rows = list[tuple[Any, ...]]


def statements(dialect: str, low: int, high: int) -> tuple[str, ...]:
    """The four reads of the stored rows of entries ``low`` to ``high - 1``, in the order
    ``expected`` builds them (``log_index``, then cases, subjects, categories)."""
    where = f"WHERE idx >= {int(low)} AND idx < {int(high)}"
    columns = [c if c != "at" else _AT[dialect] for c in search_keys.MAIN_COLUMNS]
    columns[-1] = "CAST(override AS INTEGER)"
    main = f"SELECT idx, {', '.join(columns)} FROM log_index {where} ORDER BY idx"  # noqa: S608
    sides = (
        f"SELECT idx, {c} FROM {t} {where} ORDER BY idx, {c}{_ORDER[dialect]}"  # noqa: S608
        for t, c in _SIDES
    )
    return (main, *sides)


def expected(entries: Sequence[tuple[int, bytes]]) -> tuple[Rows, Rows, Rows, Rows] | None:
    """The rows ``entries`` say the index holds, as ``statements`` read them; None if an
    entry does not decode (the exact comparison then decides)."""
    decode, main_of, sides_of = search_keys.decode, search_keys.main, search_keys.sides
    main: Rows = []
    cases: Rows = []
    subjects: Rows = []
    categories: Rows = []
    try:
        for idx, data in entries:
            keys = decode(bytes(data))
            main.append((idx, *main_of(keys)))
            c, s, g = sides_of(keys)
            if c:
                cases += [(idx, v) for v in sorted(c)]
            if s:
                subjects += [(idx, v) for v in sorted(s)]
            if g:
                categories += [(idx, v) for v in sorted(g)]
    except ValueError:
        return None
    return main, cases, subjects, categories


def same_sqlite(db: sqlite3.Connection, low: int, high: int) -> bool:
    """Whether entries ``low`` to ``high - 1`` have exactly their rows (read through
    ``db``, a plain ``sqlite3`` connection)."""
    entries = db.execute(
        f"SELECT idx, entry FROM log_entries WHERE idx >= {int(low)} AND idx < {int(high)} "  # noqa: S608
        "ORDER BY idx"
    ).fetchall()
    want = expected(entries)
    if want is None:
        return False
    return all(
        rows == db.execute(query).fetchall()
        for rows, query in zip(want, statements("sqlite", low, high), strict=True)
    )


def same_connection(conn: Connection, entries: Sequence[tuple[int, bytes]]) -> bool:
    """Whether ``entries`` (consecutive, in order) have exactly their rows (read through
    ``conn``, in its transaction)."""
    if not entries:
        return True
    low, high = int(entries[0][0]), int(entries[-1][0]) + 1
    want = expected(entries)
    if want is None:
        return False
    queries = statements(conn.dialect.name, low, high)
    for rows, query in zip(want, queries, strict=True):
        if rows != [tuple(r) for r in conn.exec_driver_sql(query)]:
            return False
    return True
