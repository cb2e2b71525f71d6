"""The search index checked against, and rebuilt from, the entries themselves.

``log_index`` and its side tables (cases, subjects, data categories) are what ``log search``
and the subject access report read. What they must hold is derived from each entry by
``hub.log.store.index_rows``, the function the append path writes them with; here it is
applied to the stored entries, a chunk at a time, and compared row by row with what is
stored for the same range of entries. Messages name entries and tables, never values.

A chunk is first compared the quick way (``hub.log.index_quick``: by ``log verify``'s
``hub.log.index_pass``, by ``rebuild`` here); only a chunk that differs there is compared
the exact way (``find_fault``), entry by entry, through ``LogEntry`` and
SQLAlchemy's types, to name the entry and what differs (or to find it does not: the quick
way never passes a chunk the exact way would fail).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.engine import Connection

from hub.log import index_quick
from hub.log.entries import LogEntry
from hub.log.store import Prepared, index_rows
from hub.log.tables import log_index, log_index_cases, log_index_categories, log_index_subjects

__all__ = ["IndexFault", "IndexRepair", "derive", "find_fault", "rebuild", "rows_outside"]

_MAIN: Final = tuple(c.name for c in log_index.c if c.name != "idx")
_SIDES: Final[tuple[tuple[Table, str], ...]] = (
    (log_index_cases, "case_ref"),
    (log_index_subjects, "subject_id"),
    (log_index_categories, "category"),
)
_TABLES: Final = (log_index, *(t for t, _ in _SIDES))
# per entry: its log_index row (None: none) and the values of each side table
Rows = tuple[tuple[Any, ...] | None, frozenset[str], frozenset[str], frozenset[str]]
_NONE: Final[Rows] = (None, frozenset(), frozenset(), frozenset())


@dataclass(frozen=True, slots=True)
class IndexFault:
    """The first entry whose search rows differ from what the entry says."""

    index: int
    what: str

    @property
    def message(self) -> str:
        """One line for the DPO (tables and columns, no values)."""
        return f"entry {self.index}: its search index differs from the entry ({self.what})"


@dataclass(slots=True)
class IndexRepair:
    """What a rebuild changed: the entries whose rows it rewrote, rows removed and added."""

    entries: list[int] = field(default_factory=list)
    removed: int = 0
    added: int = 0
    tables: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        """Whether anything was rewritten."""
        return bool(self.entries) or bool(self.removed)


def _aware(moment: Any) -> Any:
    # SQLite hands back naive datetimes; they were stored as UTC.
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _main_row(row: Any) -> tuple[Any, ...]:
    return tuple(_aware(row[name]) if name == "at" else row[name] for name in _MAIN)


def derive(chunk: Iterable[tuple[int, bytes]]) -> Prepared:
    """The rows the index must hold for these entries (``index_rows``, as the append
    wrote them). An entry that does not parse has none (the hash pass names it)."""
    out = Prepared()
    validate = LogEntry.model_validate_json
    for idx, data in chunk:
        try:
            entry = validate(bytes(data))
        except ValueError:
            continue
        index_rows(int(idx), entry, out)
    return out


def _by_entry(prepared: Prepared) -> dict[int, Rows]:
    return _group(prepared.index, prepared.cases, prepared.subjects, prepared.categories)


def _flat_expected(prepared: Prepared) -> list[list[tuple[Any, ...]]]:
    """The rows ``prepared`` holds as sorted tuples, as ``_flat_stored`` reads them."""
    main = sorted(tuple(row[n] for n in ("idx", *_MAIN)) for row in prepared.index)
    sides = [
        sorted((row["idx"], row[column]) for row in rows)
        for rows, (_, column) in zip(
            (prepared.cases, prepared.subjects, prepared.categories), _SIDES, strict=True
        )
    ]
    return [main, *sides]


def _flat_stored(conn: Connection, low: int, high: int) -> list[list[tuple[Any, ...]]]:
    """The rows stored for entries ``low`` to ``high - 1``: sorted tuples, one list a table."""
    main = select(log_index.c.idx, *(log_index.c[n] for n in _MAIN))
    queries = [main.where(log_index.c.idx >= low, log_index.c.idx < high)]
    for table, column in _SIDES:
        queries.append(
            select(table.c.idx, table.c[column]).where(table.c.idx >= low, table.c.idx < high)
        )
    # sorted here, not by the database: its collation need not be Python's order; a
    # datetime handed back naive (SQLite's) was stored as UTC
    at = 1 + _MAIN.index("at")
    found = [sorted(tuple(row) for row in conn.execute(query)) for query in queries]
    found[0] = [(*r[:at], _aware(r[at]), *r[at + 1 :]) for r in found[0]]
    return found


def _same(conn: Connection, prepared: Prepared, low: int, high: int) -> bool:
    """Whether the stored rows of entries ``low`` to ``high - 1`` are ``prepared``'s: the
    whole chunk compared at once, as sorted tuples."""
    return _flat_expected(prepared) == _flat_stored(conn, low, high)


def _group(
    main: Iterable[Any], cases: Iterable[Any], subjects: Iterable[Any], categories: Iterable[Any]
) -> dict[int, Rows]:
    found: dict[int, list[Any]] = {}
    for row in main:
        found.setdefault(int(row["idx"]), [None, set(), set(), set()])[0] = _main_row(row)
    sides = zip((1, 2, 3), (cases, subjects, categories), _SIDES, strict=True)
    for slot, rows, (_, column) in sides:
        for row in rows:
            found.setdefault(int(row["idx"]), [None, set(), set(), set()])[slot].add(row[column])
    return {i: (v[0], frozenset(v[1]), frozenset(v[2]), frozenset(v[3])) for i, v in found.items()}


def stored_rows(conn: Connection, low: int, high: int) -> dict[int, Rows]:
    """What the index holds for entries ``low`` to ``high - 1``."""

    def rows(table: Table) -> list[Any]:
        query = select(table).where(table.c.idx >= low, table.c.idx < high)
        return [r._mapping for r in conn.execute(query)]

    return _group(*(rows(table) for table in _TABLES))


def _difference(index: int, want: Rows, have: Rows) -> str:
    parts = []
    if want[0] is None and have[0] is not None:
        parts.append("a log_index row the entry does not have")
    elif have[0] is None and want[0] is not None:
        parts.append("its log_index row is missing")
    elif want[0] != have[0]:
        changed = [n for n, a, b in zip(_MAIN, want[0] or (), have[0] or (), strict=True) if a != b]
        parts.append(f"log_index.{', log_index.'.join(changed)} changed")
    for (table, _), wanted, held in zip(_SIDES, want[1:], have[1:], strict=True):
        missing, extra = len(wanted - held), len(held - wanted)
        if missing:
            parts.append(f"{table.name}: {missing} row{'s' * (missing > 1)} missing")
        if extra:
            parts.append(f"{table.name}: {extra} row{'s' * (extra > 1)} the entry does not name")
    return "; ".join(parts)


def find_fault(conn: Connection, chunk: Sequence[tuple[int, bytes]]) -> IndexFault | None:
    """The first entry of ``chunk`` (consecutive entries, in order) whose rows differ, the
    exact way (for a range the quick comparison failed; the rows are grouped by entry only
    when the chunk's differ, to name it and how)."""
    if not chunk:
        return None
    low, high = int(chunk[0][0]), int(chunk[-1][0]) + 1
    prepared = derive(chunk)
    if _same(conn, prepared, low, high):
        return None
    want, have = _by_entry(prepared), stored_rows(conn, low, high)
    for idx in range(low, high):
        w, h = want.get(idx, _NONE), have.get(idx, _NONE)
        if w != h:
            return IndexFault(idx, _difference(idx, w, h))
    return None


def rows_outside(conn: Connection, size: int) -> IndexFault | None:
    """Search rows for entries the log does not have (an index below 0 or from ``size``)."""
    found = []
    for table in _TABLES:
        outside = or_(table.c.idx < 0, table.c.idx >= size)
        first = conn.scalar(select(func.min(table.c.idx)).where(outside))
        if first is not None:
            found.append((int(first), table.name))
    if not found:
        return None
    index, name = min(found)
    return IndexFault(index, f"{name} has rows for it, but the log has {size} entries")


def rebuild(conn: Connection, chunk: Sequence[tuple[int, bytes]], repair: IndexRepair) -> None:
    """Rewrite the rows of every entry of ``chunk`` whose rows differ, in ``conn``'s
    transaction, and count what changed in ``repair``."""
    if not chunk:
        return
    low, high = int(chunk[0][0]), int(chunk[-1][0]) + 1
    if index_quick.same_connection(conn, chunk):
        return
    prepared = derive(chunk)
    if _same(conn, prepared, low, high):
        return
    want, have = _by_entry(prepared), stored_rows(conn, low, high)
    bad = [i for i in range(low, high) if want.get(i, _NONE) != have.get(i, _NONE)]
    if not bad:
        return
    for idx in bad:
        w, h = want.get(idx, _NONE), have.get(idx, _NONE)
        repair.tables |= {
            t.name for t, a, b in zip(_TABLES, w, h, strict=True) if a != b and (a or b)
        }
        if w[0] != h[0]:
            repair.removed += h[0] is not None
            repair.added += w[0] is not None
        repair.removed += sum(len(b - a) for a, b in zip(w[1:], h[1:], strict=True))
        repair.added += sum(len(a - b) for a, b in zip(w[1:], h[1:], strict=True))
    repair.entries += bad
    wanted = set(bad)
    for table in reversed(_TABLES):  # the side tables' rows first: they refer to log_index
        conn.execute(delete(table).where(table.c.idx.in_(bad)))
    for table, rows in zip(
        _TABLES,
        (prepared.index, prepared.cases, prepared.subjects, prepared.categories),
        strict=True,
    ):
        mine = [r for r in rows if r["idx"] in wanted]
        if mine:
            conn.execute(table.insert(), mine)


def remove_outside(conn: Connection, size: int, repair: IndexRepair) -> None:
    """Delete search rows for entries the log does not have."""
    for table in reversed(_TABLES):
        done = conn.execute(delete(table).where(or_(table.c.idx < 0, table.c.idx >= size)))
        if done.rowcount:
            repair.removed += done.rowcount
            repair.tables.add(table.name)
