"""The DPO's pages: the disclosure log browser (the CLI's filters; each entry with its
basis, fields, delivery and receipt, and its inclusion proof), the subject access report
(printable page and CSV), overrides and refusals, retention and legal holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases.retention import retention_due
from hub.cases.store import find_subject_ids
from hub.cases.tables import areas, cases
from hub.crypto import merkle
from hub.disclosure.review import list_held
from hub.log import store
from hub.log.entries import LogEntry, parse_entry
from hub.log.heads import head_covering, latest_head
from hub.log.search import LogQuery, export_lines, search
from hub.protocol.canonical import b64encode
from hub.protocol.errors import HubError, ProtocolError
from hub.service.appkeys import ENGINE, KEYS, SETTINGS
from hub.service.routes_log import parse_query
from hub.storage.tables import outbox, receipts
from hub.web.jobs import JOBS, start_verify
from hub.web.pages import current, field, page, render, see_other

__all__ = ["routes"]

routes = web.RouteTableDef()
READERS: Final = ("admin", "dpo")
PAGE: Final = 50
FILTERS: Final = (
    "case",
    "agency",
    "purpose",
    "basis",
    "category",
    "subject",
    "since",
    "until",
    "overrides",
    "refusals",
)
_SCAN: Final = 1000


async def signed_head(request: web.Request) -> Any:
    """A signed head covering every committed entry (signed now if the signer lags)."""
    app = request.app
    async with app[ENGINE].connect() as conn:
        current = await store.size(conn)
    return await head_covering(app[ENGINE], app[KEYS].identity, app[SETTINGS].hub_id, current)


async def deliveries(conn: AsyncConnection, envelope_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per envelope id: its outbox status, when delivered, and when its receipt was signed."""
    if not envelope_ids:
        return {}
    rows = await conn.execute(
        select(outbox.c.envelope_id, outbox.c.status, outbox.c.delivered_at, receipts.c.received_at)
        .outerjoin(receipts, receipts.c.envelope_id == outbox.c.envelope_id)
        .where(outbox.c.envelope_id.in_(envelope_ids))
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
) -> list[tuple[int, LogEntry]]:
    """Every matching entry below ``below``, a page at a time."""
    out: list[tuple[int, LogEntry]] = []
    after = -1
    while page_ := await search(conn, query, below=below, after=after, limit=_SCAN):
        out += [(i, parse_entry(d)) for i, d in page_]
        after = page_[-1][0]
    return out


def _cleaned(request: web.Request) -> tuple[web.Request, dict[str, str]]:
    """The request with empty filters dropped (a GET form sends every field)."""
    kept = {k: v for k, v in request.query.items() if k in FILTERS and v.strip()}
    for flag in ("overrides", "refusals"):
        if flag in kept:
            kept[flag] = "true"
    return request.clone(rel_url=request.rel_url.with_query(kept)), kept


@routes.get("/log")
@page(*READERS)
async def log_page(request: web.Request) -> web.StreamResponse:
    """Search the disclosure log."""
    clean, kept = _cleaned(request)
    query = parse_query(clean)
    raw_offset = request.query.get("offset", "0")
    offset = int(raw_offset) if raw_offset.isdigit() and len(raw_offset) < 12 else 0
    head = await signed_head(request)
    async with request.app[ENGINE].connect() as conn:
        found = await search(conn, query, below=head.size, offset=offset, limit=PAGE + 1)
        entries = [(i, parse_entry(d)) for i, d in found[:PAGE]]
        sent = await deliveries(conn, [e.envelope_id for _, e in entries if e.envelope_id])
    return render(
        request,
        "log.html",
        {
            "title": "Disclosure log",
            "head": head,
            "entries": entries,
            "sent": sent,
            "f": kept,
            "offset": offset,
            "more": len(found) > PAGE,
            "page_size": PAGE,
            "query_string": urlencode(list(clean.query.items())),
        },
    )


@routes.get("/log/entries/{index}")
@page(*READERS)
async def entry_page(request: web.Request) -> web.StreamResponse:
    """One entry, its delivery and receipt, and its inclusion proof against the newest head."""
    raw = request.match_info["index"]
    if not raw.isdigit() or len(raw) > 15:
        raise HubError("no such entry", code="not-found")
    index = int(raw)
    head = await signed_head(request)
    async with request.app[ENGINE].connect() as conn:
        data = await store.entry(conn, index)
        if data is None or index >= head.size:
            raise HubError("no such entry", code="not-found")
        proof = await store.inclusion_proof(conn, index, head.size)
        entry = parse_entry(data)
        sent = await deliveries(conn, [entry.envelope_id] if entry.envelope_id else [])
    leaf = merkle.leaf_hash(data)
    return render(
        request,
        "log_entry.html",
        {
            "title": f"Log entry {index}",
            "index": index,
            "entry": entry,
            "raw": data.decode(),
            "leaf": leaf.hex(),
            "proof": [h.hex() for h in proof],
            "proof_b64": [b64encode(h) for h in proof],
            "head": head,
            "verified": merkle.verify_inclusion(leaf, index, head.size, proof, head.root),
            "delivery": sent.get(entry.envelope_id or ""),
        },
    )


def _subject_form(request: web.Request) -> tuple[str, date]:
    name = field(request, "name", limit=200) or ""
    try:
        dob = date.fromisoformat(field(request, "date_of_birth") or "")
    except ValueError:
        raise ProtocolError("the date of birth must be a date (YYYY-MM-DD)") from None
    return name, dob


@routes.get("/log/subject")
@page(*READERS)
async def subject_form(request: web.Request) -> web.StreamResponse:
    """The subject access form (names travel in a POST, never in a URL)."""
    return render(request, "subject.html", {"title": "Subject access", "report": None})


@routes.post("/log/subject")
@page(*READERS)
async def subject_report(request: web.Request) -> web.StreamResponse:
    """Every disclosure concerning one person: what, to whom, when, why, on which basis."""
    name, dob = _subject_form(request)
    head = await signed_head(request)
    async with request.app[ENGINE].connect() as conn:
        ids = await find_subject_ids(conn, request.app[KEYS], name, dob)
        found = await all_matching(conn, LogQuery(subject_ids=tuple(ids)), head.size) if ids else []
    shown = [(i, e) for i, e in found if e.kind == "disclosure"]
    return render(
        request,
        "subject.html",
        {
            "title": "Subject access report",
            "report": shown,
            "records": len(ids),
            "name": name,
            "dob": dob,
            "head": head,
            "made_at": datetime.now(UTC),
        },
    )


@routes.post("/log/subject.csv")
@page(*READERS)
async def subject_csv(request: web.Request) -> web.StreamResponse:
    """The same report as CSV: the log export of the person's entries, headed by the
    signed head it was taken at."""
    name, dob = _subject_form(request)
    head = await signed_head(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="subject-access-{head.size}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    async with request.app[ENGINE].connect() as conn:
        ids = await find_subject_ids(conn, request.app[KEYS], name, dob)
        await response.prepare(request)
        query = LogQuery(subject_ids=tuple(ids) if ids else ("-",))
        async for line in export_lines(conn, query, head, "csv"):
            await response.write(line.encode())
    await response.write_eof()
    return response


@routes.get("/log/reviews")
@page(*READERS)
async def reviews(request: web.Request) -> web.StreamResponse:
    """Overrides (with their justification's hash) and refusals, newest first; held
    disclosures and the decisions taken on them."""
    head = await signed_head(request)
    async with request.app[ENGINE].connect() as conn:
        overrides = await all_matching(conn, LogQuery(overrides=True), head.size)
        refusals = await all_matching(conn, LogQuery(refusals=True), head.size)
        held = await list_held(conn, status=None)
    return render(
        request,
        "reviews.html",
        {
            "title": "Overrides and refusals",
            "overrides": overrides[::-1],
            "refusals": refusals[::-1],
            "held": held[::-1],
        },
    )


@routes.get("/retention")
@page(*READERS)
async def retention(request: web.Request) -> web.StreamResponse:
    """Each case's retention date, legal holds, and cases already destroyed."""
    today = datetime.now(UTC).date()
    async with request.app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(
                select(
                    cases.c.ref,
                    cases.c.area_id,
                    cases.c.last_referral_on,
                    cases.c.legal_hold,
                    cases.c.destroyed_at,
                    areas.c.retention_years,
                )
                .join(areas, areas.c.id == cases.c.area_id)
                .order_by(cases.c.last_referral_on, cases.c.ref)
            )
        ).all()
    items = [
        {
            "ref": r.ref,
            "area": r.area_id,
            "last": r.last_referral_on,
            "due": retention_due(r.last_referral_on, r.retention_years),
            "hold": r.legal_hold,
            "destroyed": r.destroyed_at,
        }
        for r in rows
    ]
    return render(
        request,
        "retention.html",
        {
            "title": "Retention and legal holds",
            "items": items,
            "today": today,
            "due": [i for i in items if not i["destroyed"] and i["due"] <= today and not i["hold"]],
            "holds": [i for i in items if i["hold"] and not i["destroyed"]],
        },
    )


@routes.get("/log/integrity")
@page(*READERS)
async def integrity(request: web.Request) -> web.StreamResponse:
    """The newest signed head and the "verify now" button."""
    async with request.app[ENGINE].connect() as conn:
        newest = await latest_head(conn, request.app[SETTINGS].hub_id)
        size = await store.size(conn)
    runs = sorted(request.app[JOBS].values(), key=lambda j: j.started_at, reverse=True)
    return render(
        request,
        "integrity.html",
        {"title": "Integrity", "head": newest, "size": size, "runs": runs[:5], "job": None},
    )


@routes.post("/log/integrity/verify")
@page(*READERS)
async def verify_now(request: web.Request) -> web.StreamResponse:
    """Start the full check; its page follows its progress."""
    job = start_verify(request.app, current(request).name)
    raise see_other(f"/log/integrity/runs/{job.id}")


@routes.get("/log/integrity/runs/{id}")
@page(*READERS)
async def verify_run(request: web.Request) -> web.StreamResponse:
    """One run: progress while it checks, then the result."""
    job = request.app[JOBS].get(request.match_info["id"])
    if job is None:
        raise HubError("no such verification run (only recent runs are kept)", code="not-found")
    await asyncio.sleep(0.2 if job.running else 0)  # a small log finishes within this
    return render(request, "integrity.html", {"title": "Verifying the log", "job": job})
