"""Search and export of the disclosure log for the DPO.

Filters: case, agency (recipient, or the agency a key or status entry concerns),
purpose, lawful basis id, data category, date range, overrides only, refusals only,
subject id, kind (``access`` finds who viewed case data), actor (``role:name`` as the
log writes it, matched exactly in the entry's bytes). Results are ordered by index and
limited to the entries a signed head covers.

Export formats (both start with the signed head the export was taken at; every entry it
holds is covered by that head, so each can be proved against it):

* ``jsonl``: line 1 is ``{"head": <signed head>, "filters": {...}}``; then one line per
  entry, ``{"index": N, "entry": <the entry object>}``. The RFC 8785 canonical JSON of
  ``entry`` is exactly the logged bytes, so its leaf hash can be recomputed.
* ``csv``: line 1 is ``# signed tree head: <signed head as compact JSON>``; line 2 the
  column names (``COLUMNS``); then one row per entry. Lists are joined with ``;``. A cell
  that a spreadsheet would run as a formula (``= + - @``) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Final, Literal

from sqlalchemy import LargeBinary, Select, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.crypto.tree_head import SignedTreeHead
from hub.log.entries import KINDS, parse_entry
from hub.log.tables import (
    log_entries,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
)
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import ProtocolError
from hub.storage.sql import byte_position

__all__ = [
    "COLUMNS",
    "Fmt",
    "LogQuery",
    "csv_row",
    "export_head",
    "export_line",
    "export_lines",
    "parse_moment",
    "search",
]

COLUMNS: Final = (
    "index",
    "kind",
    "at",
    "actor",
    "case_refs",
    "subject_ids",
    "sender",
    "recipient",
    "agency",
    "purpose",
    "message_type",
    "format",
    "fields",
    "data_categories",
    "basis_id",
    "basis_version",
    "consent",
    "policy_version",
    "override_id",
    "override_justification_sha256",
    "refusal_code",
    "envelope_id",
    "envelope_sha256",
    "payload_sha256",
    "key_role",
    "key_fingerprint",
    "key_suite",
    "status",
)
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")
Fmt = Literal["csv", "jsonl"]


def parse_moment(raw: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A date (``YYYY-MM-DD``: from its start, or to its ``end``) or an RFC 3339 time with
    a zone, in UTC; ``ProtocolError`` otherwise."""
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        if len(raw) > 40:
            raise ValueError
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ProtocolError(f"{name} must be a date (YYYY-MM-DD) or an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ProtocolError(f"{name} must name its time zone", code="naive-timestamp")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class LogQuery:
    """What to look for; ``None`` (or ``False``) means any."""

    case_ref: str | None = None
    agency: str | None = None
    purpose: str | None = None
    basis_id: str | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    overrides: bool = False
    refusals: bool = False
    subject_id: str | None = None
    subject_ids: tuple[str, ...] | None = None
    kind: str | None = None
    actor: str | None = None
    case_refs: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise ProtocolError(f"kind is one of {', '.join(KINDS)}")

    def to_json(self) -> dict[str, Any]:
        """The filters that were set, for an export's header."""
        out = {}
        for name, value in asdict(self).items():
            if value is None or value is False:
                continue
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def statement(self, below: int) -> Select[Any]:
        """The SELECT of matching entries with index below ``below``, by index."""
        e = log_index.c
        stmt = (
            select(log_entries.c.idx, log_entries.c.entry)
            .join(log_index, e.idx == log_entries.c.idx)
            .where(log_entries.c.idx < below)
            .order_by(log_entries.c.idx)
        )
        for value, column in (
            (self.agency, e.agency),
            (self.purpose, e.purpose),
            (self.basis_id, e.basis_id),
            (self.kind, e.kind),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if self.since is not None:
            stmt = stmt.where(e.at >= self.since)
        if self.until is not None:
            stmt = stmt.where(e.at <= self.until)
        if self.overrides:
            stmt = stmt.where(e.override.is_(True))
        if self.refusals:
            stmt = stmt.where(e.kind == "refusal")
        for value, table, column in (
            (self.case_ref, log_index_cases, log_index_cases.c.case_ref),
            (self.category, log_index_categories, log_index_categories.c.category),
            (self.subject_id, log_index_subjects, log_index_subjects.c.subject_id),
        ):
            if value is not None:
                stmt = stmt.where(e.idx.in_(select(table.c.idx).where(column == value)))
        if self.actor is not None:
            needle = f'"actor":{json.dumps(self.actor, ensure_ascii=False)}'.encode()
            stmt = stmt.where(byte_position(log_entries.c.entry, literal(needle, LargeBinary)) > 0)
        if self.case_refs is not None:
            stmt = stmt.where(
                e.idx.in_(
                    select(log_index_cases.c.idx).where(
                        log_index_cases.c.case_ref.in_(self.case_refs)
                    )
                )
            )
        if self.subject_ids is not None:
            stmt = stmt.where(
                e.idx.in_(
                    select(log_index_subjects.c.idx).where(
                        log_index_subjects.c.subject_id.in_(self.subject_ids)
                    )
                )
            )
        return stmt


async def search(
    conn: AsyncConnection,
    query: LogQuery,
    *,
    below: int,
    offset: int = 0,
    limit: int = 100,
    after: int = -1,
) -> list[tuple[int, bytes]]:
    """Matching ``(index, entry bytes)`` with ``after < index < below``, a page at a time."""
    stmt = query.statement(below).where(log_entries.c.idx > after)
    rows = await conn.execute(stmt.offset(offset).limit(limit))
    return [(int(r.idx), bytes(r.entry)) for r in rows]


def csv_row(index: int, entry: bytes) -> list[str]:
    """One CSV row (``COLUMNS``) for an entry."""
    e = parse_entry(entry)
    values: dict[str, Any] = e.model_dump(mode="json", exclude_none=True)
    values["index"] = index
    if e.basis:
        values["basis_id"], values["basis_version"] = e.basis.id, e.basis.version
    if e.override:
        values["override_id"] = e.override.id
        values["override_justification_sha256"] = e.override.justification_sha256
    if e.key:
        values["key_role"], values["key_fingerprint"] = e.key.role, e.key.fingerprint
        values["key_suite"] = e.key.suite
    row = []
    for column in COLUMNS:
        value = values.get(column, "")
        cell = ";".join(value) if isinstance(value, list) else str(value)
        row.append("'" + cell if cell.startswith(_FORMULA) else cell)
    return row


def export_head(head: SignedTreeHead, filters: dict[str, Any], fmt: Fmt) -> list[str]:
    """The lines an export starts with: the signed head (and, in JSON Lines, the filters)."""
    if fmt == "jsonl":
        doc = {"head": head.to_json(), "filters": filters}
        return [json.dumps(doc, separators=(",", ":")) + "\n"]
    head_json = json.dumps(head.to_json(), separators=(",", ":"), sort_keys=True)
    return [f"# signed tree head: {head_json}\n", _csv_line(list(COLUMNS))]


def export_line(index: int, entry: bytes, fmt: Fmt) -> str:
    """One entry's line of an export."""
    if fmt == "csv":
        return _csv_line(csv_row(index, entry))
    doc = {"index": index, "entry": loads_strict(entry)}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"


async def export_lines(
    conn: AsyncConnection,
    query: LogQuery,
    head: SignedTreeHead,
    fmt: Fmt,
    *,
    page: int = 5000,
) -> AsyncIterator[str]:
    """The export, line by line (each ending in ``\\n``), of entries ``head`` covers."""
    for line in export_head(head, query.to_json(), fmt):
        yield line
    after = -1
    while True:
        found = await search(conn, query, below=head.size, after=after, limit=page)
        for index, entry in found:
            yield export_line(index, entry, fmt)
        if len(found) < page:
            return
        after = found[-1][0]


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()
