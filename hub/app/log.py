"""Use-cases over the disclosure log, for the DPO (and the admin): signed heads, proofs,
search, export, verification, overrides and refusals, charts, subject access.

Who may do what (``@use_case`` checks the role before each runs):

* ``log.head``: any member of staff (the newest signed head holds no personal data);
* ``log.search``, ``log.entry``, ``log.consistency``, ``log.export``, ``log.verify``,
  ``log.repair-index``, ``log.integrity``, ``log.reviews``, ``log.charts``,
  ``log.subject``: the DPO and the admin. A coordinator reads the log only through their
  own cases' pages.

Agencies reach the log through signed requests (the newest head, proofs of their own
envelopes, consistency proofs, their key entries): the ``agency_*`` functions, which are
not use-cases (an agency is not staff) and keep what the agency API always did.

A subject access report finds the person's subject ids by name and date of birth (matched
inside the hub against the encrypted cases), then the cases holding those ids (the cases
store's ``case_subjects``; never a disclosure's other case refs, which may be other
people's), and lists every entry naming the subject ids (disclosures, refusals,
retention) and every ``access`` entry naming one of those cases: who viewed, exported or
reported on the person's records. Making the report is itself an ``access`` entry
(purpose ``subject-access``, the case refs only).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.app.access import record_access
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, use_case
from hub.app.runtime import Runtime
from hub.cases.tables import case_subjects
from hub.crypto import merkle
from hub.crypto.tree_head import SignedTreeHead
from hub.delivery.tables import outbox, receipts
from hub.log import store
from hub.log.entries import KEY_KINDS, KINDS, LogEntry, parse_entry
from hub.log.heads import head_covering, latest_head
from hub.log.search import (
    Fmt,
    LogQuery,
    export_head,
    export_line,
    export_lines,
    parse_moment,
    search,
)
from hub.log.tables import log_entries, log_index
from hub.log.verify import (
    Coverage,
    IndexMismatch,
    IndexRepair,
    LogTampered,
    Verified,
    repair_index,
    verify_log,
)
from hub.log.witness_check import verify_witnesses
from hub.protocol.errors import HubError, ProtocolError

if TYPE_CHECKING:  # cases and held disclosures: imported by the use-cases that read them
    from hub.disclosure.review import HeldDisclosure

__all__ = [
    "FILTERS",
    "INDEX_REPAIR",
    "KINDS",
    "LOG_EXPORT",
    "LOG_READERS",
    "EntryProof",
    "IndexMismatch",
    "IndexRepaired",
    "LogActivity",
    "LogEntry",
    "LogExport",
    "LogPage",
    "LogQuery",
    "LogTampered",
    "Reviews",
    "SubjectReport",
    "Verified",
    "agency_consistency",
    "agency_head",
    "agency_inclusion",
    "agency_key_entries",
    "export_entry",
    "log_activity",
    "log_consistency",
    "log_entry",
    "log_export",
    "log_head",
    "log_integrity",
    "log_query",
    "log_reviews",
    "repair_log_index",
    "search_log",
    "subject_access",
    "verify_log_now",
]

LOG_READERS: Final = ("admin", "dpo")
INDEX_REPAIR: Final = "index-repair"  # the purpose of the entry a repair of the index logs
FILTERS: Final = (
    "case",
    "agency",
    "purpose",
    "basis",
    "category",
    "subject",
    "kind",
    "actor",
    "since",
    "until",
    "overrides",
    "refusals",
)
MAX_PAGE: Final = 1000
EXPORT_PAGE: Final = 1000  # entries an export reads at a time
_SCAN: Final = 1000
_TEXT: Final = re.compile(r"^[A-Za-z0-9._:@/+-]{1,200}$")
Delivery = dict[str, Any]


# --- the filters, as every door takes them ------------------------------------------


def _text(values: Mapping[str, Any], name: str) -> str | None:
    raw = values.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str) or not _TEXT.match(raw):
        raise ProtocolError(f"{name} must be 1-200 letters, digits or . _ : @ / + -")
    return raw


def _flag(values: Mapping[str, Any], name: str) -> bool:
    raw = values.get(name, False)
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, str) or raw.lower() not in ("true", "false", "1", "0"):
        raise ProtocolError(f"{name} must be true or false")
    return raw.lower() in ("true", "1")


def log_query(values: Mapping[str, Any]) -> LogQuery:
    """The search filters from ``values`` (``FILTERS``: the API's query parameters, the
    web form's fields, the CLI's flags): text, dates or RFC 3339 times, true/false."""
    since = parse_moment(values.get("since"), "since")
    until = parse_moment(values.get("until"), "until", end=True)
    if since is not None and until is not None and since > until:
        raise ProtocolError("since is after until")
    kind = _text(values, "kind")
    if kind is not None and kind not in KINDS:
        raise ProtocolError(f"kind is one of {', '.join(KINDS)}")
    return LogQuery(
        case_ref=_text(values, "case"),
        agency=_text(values, "agency"),
        purpose=_text(values, "purpose"),
        basis_id=_text(values, "basis"),
        category=_text(values, "category"),
        subject_id=_text(values, "subject"),
        kind=kind,
        actor=_text(values, "actor"),
        since=since,
        until=until,
        overrides=_flag(values, "overrides"),
        refusals=_flag(values, "refusals"),
    )


# --- heads and proofs -----------------------------------------------------------------


async def _covering(rt: Runtime, tree_size: int = 0) -> SignedTreeHead:
    """The newest signed head, signed now if none covers ``tree_size`` entries."""
    return await head_covering(rt.engine, lambda: rt.keys.identity, rt.settings.hub_id, tree_size)


async def _current(rt: Runtime) -> SignedTreeHead:
    """A head covering every entry committed so far (signed now if the signer lags)."""
    async with rt.engine.connect() as conn:
        size = await store.size(conn)
    return await _covering(rt, size)


@use_case("log.head", *ANY_STAFF)
async def log_head(rt: Runtime, actor: Actor, *, current: bool = False) -> SignedTreeHead:
    """The newest signed tree head (``current``: signing one first if the log grew)."""
    return await (_current(rt) if current else _covering(rt))


@dataclass(frozen=True, slots=True)
class EntryProof:
    """One entry, the head it is proved against, its inclusion proof and its delivery."""

    index: int
    data: bytes
    head: SignedTreeHead
    proof: list[bytes]
    delivery: Delivery | None = None

    @property
    def entry(self) -> LogEntry:
        """The parsed entry."""
        return parse_entry(self.data)

    @property
    def leaf(self) -> bytes:
        """The entry's leaf hash (RFC 9162)."""
        return merkle.leaf_hash(self.data)

    @property
    def verified(self) -> bool:
        """The proof ties the entry to the head's root."""
        return merkle.verify_inclusion(
            self.leaf, self.index, self.head.size, self.proof, self.head.root
        )


async def _inclusion(rt: Runtime, conn: AsyncConnection, index: int) -> EntryProof:
    data = None if index < 0 else await store.entry(conn, index)
    if data is None:
        raise HubError(f"no entry {index}", code="not-found")
    entry = parse_entry(data)
    sent = await deliveries(conn, [entry.envelope_id] if entry.envelope_id else [])
    signed = await _covering(rt, index + 1)
    proof = await rt.proofs.inclusion_proof(index, signed.size)
    return EntryProof(index, data, signed, proof, sent.get(entry.envelope_id or ""))


@use_case("log.entry", *LOG_READERS)
async def log_entry(
    rt: Runtime, actor: Actor, *, index: int | None = None, envelope_id: str | None = None
) -> EntryProof:
    """One entry (by index or envelope id) with its inclusion proof and delivery."""
    if (index is None) == (envelope_id is None):
        raise ProtocolError("give exactly one of an index and an envelope id")
    async with rt.engine.connect() as conn:
        if envelope_id is not None:
            index = await _envelope_index(conn, envelope_id, None)
        assert index is not None
        return await _inclusion(rt, conn, index)


async def _envelope_index(conn: AsyncConnection, envelope_id: str, agency: str | None) -> int:
    if not isinstance(envelope_id, str) or len(envelope_id) > 64:
        raise ProtocolError("envelope_id is too long")
    row = (
        await conn.execute(
            select(log_index.c.idx, log_index.c.agency).where(
                log_index.c.envelope_id == envelope_id
            )
        )
    ).first()
    if row is None or (agency is not None and row.agency != agency):
        raise HubError("no such logged envelope for you", code="unknown-envelope")
    return int(row.idx)


async def _consistency(rt: Runtime, old: int, new: int) -> list[bytes]:
    if old > new:
        raise ProtocolError("from must not exceed to")
    async with rt.engine.connect() as conn:
        newest = await latest_head(conn, rt.settings.hub_id)
    if new > (newest.size if newest else 0):
        raise ProtocolError("to is beyond the newest signed head")
    return await rt.proofs.consistency_proof(old, new)


@use_case("log.consistency", *LOG_READERS)
async def log_consistency(rt: Runtime, actor: Actor, old: int, new: int) -> list[bytes]:
    """The consistency proof between two signed sizes."""
    return await _consistency(rt, old, new)


# --- what agencies ask by signed request (not staff use-cases) -------------------------


async def agency_head(rt: Runtime) -> SignedTreeHead:
    """The newest signed head, for an agency."""
    return await _covering(rt)


async def agency_inclusion(rt: Runtime, agency_id: str, envelope_id: str) -> EntryProof:
    """The entry of one of the agency's own envelopes, with its proof."""
    async with rt.engine.connect() as conn:
        index = await _envelope_index(conn, envelope_id, agency_id)
        return await _inclusion(rt, conn, index)


async def agency_consistency(rt: Runtime, old: int, new: int) -> list[bytes]:
    """A consistency proof, for an agency."""
    return await _consistency(rt, old, new)


async def agency_key_entries(
    rt: Runtime, agency_id: str
) -> tuple[SignedTreeHead, list[tuple[int, bytes, list[bytes]]]]:
    """Every key entry concerning the agency, each with its proof, and the head."""
    async with rt.engine.connect() as conn:
        last = await conn.scalar(
            select(log_index.c.idx)
            .where(log_index.c.agency == agency_id, log_index.c.kind.in_(KEY_KINDS))
            .order_by(log_index.c.idx.desc())
            .limit(1)
        )
    signed = await _covering(rt, 0 if last is None else int(last) + 1)
    reader = rt.proofs
    out = []
    async with rt.engine.connect() as conn:
        rows = await conn.execute(
            select(log_entries.c.idx, log_entries.c.entry)
            .join(log_index, log_index.c.idx == log_entries.c.idx)
            .where(
                log_index.c.agency == agency_id,
                log_index.c.kind.in_(KEY_KINDS),
                log_entries.c.idx < signed.size,
            )
            .order_by(log_entries.c.idx)
        )
        for row in rows.all():
            proof = await reader.inclusion_proof(int(row.idx), signed.size)
            out.append((int(row.idx), bytes(row.entry), proof))
    return signed, out


# --- search and export --------------------------------------------------------------


async def deliveries(conn: AsyncConnection, envelope_ids: Sequence[str]) -> dict[str, Delivery]:
    """Per envelope id: its outbox status, when delivered, and when its receipt was signed."""
    if not envelope_ids:
        return {}
    rows = await conn.execute(
        select(outbox.c.envelope_id, outbox.c.status, outbox.c.delivered_at, receipts.c.received_at)
        .outerjoin(receipts, receipts.c.envelope_id == outbox.c.envelope_id)
        .where(outbox.c.envelope_id.in_(list(envelope_ids)))
    )
    return {
        r.envelope_id: {
            "status": r.status,
            "delivered_at": r.delivered_at,
            "receipt": r.received_at,
        }
        for r in rows
    }


async def all_matching(
    conn: AsyncConnection, query: LogQuery, below: int
) -> list[tuple[int, bytes]]:
    """Every matching entry below ``below``, read a page at a time."""
    out: list[tuple[int, bytes]] = []
    after = -1
    while found := await search(conn, query, below=below, after=after, limit=_SCAN):
        out += found
        after = found[-1][0]
    return out


def _parsed(found: Sequence[tuple[int, bytes]]) -> list[tuple[int, LogEntry]]:
    return [(i, parse_entry(d)) for i, d in found]


@dataclass(frozen=True, slots=True)
class LogPage:
    """A page of matching entries, below ``size`` (the signed ``head``'s, if signed)."""

    head: SignedTreeHead | None
    size: int
    found: list[tuple[int, bytes]]
    deliveries: dict[str, Delivery] = field(default_factory=dict)

    @property
    def entries(self) -> list[tuple[int, LogEntry]]:
        """The entries, parsed."""
        return _parsed(self.found)


@use_case("log.search", *LOG_READERS)
async def search_log(
    rt: Runtime,
    actor: Actor,
    query: LogQuery,
    *,
    offset: int = 0,
    limit: int = 100,
    signed: bool = True,
    with_deliveries: bool = False,
) -> LogPage:
    """A page of entries matching ``query``: as of a head signed now (``signed``) or of
    the stored size; ``with_deliveries``: each disclosure's delivery and receipt."""
    if not 1 <= limit <= 100_000 or offset < 0:
        raise ProtocolError("limit is from 1 and offset from 0")
    head = await _current(rt) if signed else None
    async with rt.engine.connect() as conn:
        size = head.size if head is not None else await store.size(conn)
        found = await search(conn, query, below=size, offset=offset, limit=limit)
        sent: dict[str, Delivery] = {}
        if with_deliveries:
            ids = [e.envelope_id for _, e in _parsed(found) if e.envelope_id]
            sent = await deliveries(conn, ids)
    return LogPage(head, size, found, sent)


@dataclass(frozen=True, slots=True)
class LogExport:
    """An export taken at ``head``: ``lines()`` streams it (each line ends in ``\\n``)."""

    head: SignedTreeHead
    query: LogQuery
    format: Fmt
    _rt: Runtime

    @property
    def filename(self) -> str:
        """A file name for it."""
        return f"disclosure-log-{self.head.size}.{self.format}"

    async def lines(self) -> AsyncIterator[str]:
        """The export's lines, the signed head first, read ``EXPORT_PAGE`` entries at a time
        (memory bounded however many entries match)."""
        async with self._rt.engine.connect() as conn:
            async for line in export_lines(
                conn, self.query, self.head, self.format, page=EXPORT_PAGE
            ):
                yield line


LOG_EXPORT: Final = "log-export"  # the purpose of the access entry an export logs


def export_entry(actor: Actor, query: LogQuery, fmt: str, size: int, at: datetime) -> LogEntry:
    """The ``access`` entry logging an export: who, through which door, the filters set
    (their names; a case, subject or agency filter also in its own field), the format
    and the signed size it was taken at."""
    filters = query.to_json()
    return LogEntry(
        kind="access",
        at=at,
        actor=actor.log_name,
        door=actor.door,
        purpose=LOG_EXPORT,
        fields=tuple(sorted(f"filter.{name}" for name in filters)) or None,
        case_refs=(query.case_ref,) if query.case_ref else None,
        subject_ids=(query.subject_id,) if query.subject_id else None,
        agency=query.agency,
        status=f"{fmt} export of the log's first {size} entries",
    )


@use_case("log.export", *LOG_READERS)
async def log_export(rt: Runtime, actor: Actor, query: LogQuery, fmt: str) -> LogExport:
    """Export matching entries as CSV or JSON Lines, headed by a head signed now; the
    export is logged (an ``access`` entry, purpose ``log-export``: who, the filters'
    names, the format) before a line of it is read."""
    if fmt not in ("csv", "jsonl"):
        raise ProtocolError("format must be csv or jsonl")
    head = await _current(rt)
    async with rt.engine.begin() as conn:
        await store.append(conn, [export_entry(actor, query, fmt, head.size, rt.clock())])
    return LogExport(head, query, "csv" if fmt == "csv" else "jsonl", rt)


# --- verification and integrity -------------------------------------------------------


@use_case("log.verify", *LOG_READERS)
async def verify_log_now(
    rt: Runtime, actor: Actor, progress: Callable[[int, int], None] | None = None
) -> Verified:
    """Verify every stored entry, subtree hash, signed head and checkpoint, and the
    witnesses' cosignatures and quorum (``LogTampered`` names the first fault)."""
    key, log_id = rt.keys.identity.public, rt.settings.hub_id
    async with rt.engine.connect() as conn:
        verified = await verify_log(conn, key, log_id, progress, coverage=_coverage(rt))
        # Checkpoints, cosignatures and the witness quorum (hub.log.witness_check).
        witnessed = await verify_witnesses(
            conn, key, log_id, verified.size, rt.policy.witness, datetime.now(UTC)
        )
        return replace(verified, witnessed=witnessed.size, witnesses=witnessed.agencies)


def _coverage(rt: Runtime) -> Coverage:
    """How soon a signed head must cover the log's end (the settings), as of now."""
    return Coverage(
        now=datetime.now(UTC),
        grace=timedelta(seconds=rt.settings.log_head_grace_seconds),
        max_age=timedelta(seconds=rt.settings.log_head_max_age_seconds),
    )


@dataclass(frozen=True, slots=True)
class IndexRepaired:
    """A repair of the search index: what verified, what changed, the entry logging it."""

    verified: Verified
    repair: IndexRepair
    entry: int | None  # none when nothing needed changing (then nothing is logged)


def _repair_summary(repair: IndexRepair) -> str:
    found = repair.entries  # in order
    which = f" (entries {found[0]} to {found[-1]})" if found else ""
    return (
        f"search index rebuilt from the entries: rows of {len(repair.entries)} entries "
        f"rewritten{which}; {repair.added} rows added, {repair.removed} removed"
    )


@use_case("log.repair-index", *LOG_READERS)
async def repair_log_index(
    rt: Runtime, actor: Actor, progress: Callable[[int, int], None] | None = None
) -> IndexRepaired:
    """Rebuild the search index from the entries, in one transaction, once the entries,
    hashes and heads verify (else refuse, changing nothing); log a ``review`` entry
    (purpose ``index-repair``: who, through which door, which tables, how many rows)."""
    now = datetime.now(UTC)
    async with rt.engine.begin() as conn:
        try:
            verified, repair = await repair_index(
                conn, rt.keys.identity.public, rt.settings.hub_id, _coverage(rt), progress
            )
        except LogTampered as exc:
            raise LogTampered(
                f"refusing to repair the search index: the log fails verification: {exc}",
                index=exc.index,
                head_id=exc.head_id,
            ) from None
        entry = None
        if repair.changed:
            logged = LogEntry(
                kind="review",
                at=now,
                actor=actor.log_name,
                door=actor.door,
                purpose=INDEX_REPAIR,
                fields=tuple(sorted(repair.tables)),
                status=_repair_summary(repair),
            )
            (entry,) = await store.append(conn, [logged])
    if entry is not None:
        await _covering(rt, entry + 1)
    return IndexRepaired(verified, repair, entry)


@use_case("log.integrity", *LOG_READERS)
async def log_integrity(rt: Runtime, actor: Actor) -> tuple[SignedTreeHead | None, int]:
    """The newest stored signed head (none signed now) and the log's size."""
    async with rt.engine.connect() as conn:
        return await latest_head(conn, rt.settings.hub_id), await store.size(conn)


# --- reviews and charts ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reviews:
    """Overrides and refusals (newest first) and held disclosures with their decisions."""

    overrides: list[tuple[int, LogEntry]]
    refusals: list[tuple[int, LogEntry]]
    held: list[HeldDisclosure]


@use_case("log.reviews", *LOG_READERS)
async def log_reviews(rt: Runtime, actor: Actor) -> Reviews:
    """Overrides (with their justification's hash), refusals and held disclosures."""
    head = await _current(rt)
    async with rt.engine.connect() as conn:
        overrides = await all_matching(conn, LogQuery(overrides=True), head.size)
        refusals = await all_matching(conn, LogQuery(refusals=True), head.size)
        from hub.disclosure.review import list_held  # noqa: PLC0415 (see TYPE_CHECKING)

        held = await list_held(conn, status=None)
    return Reviews(_parsed(overrides)[::-1], _parsed(refusals)[::-1], held[::-1])


@dataclass(frozen=True, slots=True)
class LogActivity:
    """What the charts count: entries since a moment, and each envelope queued since then
    with when it was done (its signed receipt, or delivery), ``None`` while waiting."""

    entries: list[tuple[int, LogEntry]]
    envelopes: list[tuple[datetime, datetime | None]]


@use_case("log.charts", *LOG_READERS)
async def log_activity(rt: Runtime, actor: Actor, since: datetime) -> LogActivity:
    """Entries and envelopes since ``since``, for the DPO's charts (no personal data)."""
    head = await _current(rt)
    async with rt.engine.connect() as conn:
        found = await all_matching(conn, LogQuery(since=since), head.size)
        rows = (
            await conn.execute(
                select(outbox.c.created_at, outbox.c.delivered_at, receipts.c.received_at)
                .outerjoin(receipts, receipts.c.envelope_id == outbox.c.envelope_id)
                .where(outbox.c.created_at >= since)
            )
        ).all()
    return LogActivity(
        _parsed(found), [(r.created_at, r.received_at or r.delivered_at) for r in rows]
    )


# --- subject access ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubjectReport:
    """Every disclosure concerning one person and every view of their records.

    ``records``: how many subject records (in any case, any role) matched; ``case_refs``:
    the cases holding them; ``found``: every entry the report rests on, by index (the
    subject's own entries and the access entries), for the CSV.
    """

    head: SignedTreeHead
    made_at: datetime
    records: int
    case_refs: tuple[str, ...]
    found: list[tuple[int, bytes]]

    @property
    def disclosures(self) -> list[tuple[int, LogEntry]]:
        """The disclosures naming the person's subject ids."""
        return [(i, e) for i, e in _parsed(self.found) if e.kind == "disclosure"]

    @property
    def views(self) -> list[tuple[int, LogEntry]]:
        """Who viewed, exported or reported on the cases holding the person."""
        return [(i, e) for i, e in _parsed(self.found) if e.kind == "access"]

    def csv_lines(self) -> Iterator[str]:
        """The report as CSV (the log export's columns), headed by the signed head."""
        yield from export_head(self.head, {}, "csv")
        for index, data in self.found:
            yield export_line(index, data, "csv")


def _subject_input(name: Any, date_of_birth: Any) -> tuple[str, date]:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ProtocolError("the name must be 1-200 characters")
    if isinstance(date_of_birth, str):
        try:
            date_of_birth = date.fromisoformat(date_of_birth)
        except ValueError:
            raise ProtocolError("the date of birth must be a date (YYYY-MM-DD)") from None
    if not isinstance(date_of_birth, date):
        raise ProtocolError("the date of birth must be a date (YYYY-MM-DD)")
    return name, date_of_birth


@use_case("log.subject", *LOG_READERS)
async def subject_access(
    rt: Runtime, actor: Actor, name: str, date_of_birth: date | str
) -> SubjectReport:
    """A subject access report (UK GDPR Art. 15): every disclosure about the person and
    every access to their cases; logged as an ``access`` entry (purpose subject-access)."""
    name, dob = _subject_input(name, date_of_birth)
    head = await _current(rt)
    now = rt.clock()
    async with rt.engine.begin() as conn:
        from hub.cases.store import find_subject_ids  # noqa: PLC0415 (see TYPE_CHECKING)

        ids = await find_subject_ids(conn, rt.keys, name, dob)
        refs: list[str] = []
        found: list[tuple[int, bytes]] = []
        if ids:
            rows = await conn.execute(
                select(case_subjects.c.case_ref)
                .where(case_subjects.c.subject_id.in_(ids))
                .distinct()
                .order_by(case_subjects.c.case_ref)
            )
            refs = [r.case_ref for r in rows]
            found = await all_matching(conn, LogQuery(subject_ids=tuple(ids)), head.size)
        if refs:
            views = LogQuery(kind="access", case_refs=tuple(refs))
            found = sorted({*found, *await all_matching(conn, views, head.size)})
            await record_access(
                conn, actor, refs, purpose="subject-access", what=["disclosures", "views"], now=now
            )
    return SubjectReport(head, now, len(ids), tuple(refs), found)
