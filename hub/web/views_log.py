"""The DPO's pages: the disclosure log browser (the CLI's filters, access entries and
actors included; each entry with its basis, fields, delivery and receipt, and its
inclusion proof), the subject access report (printable page and CSV: disclosures and
views), overrides and refusals, retention and legal holds. Each page calls one ``log.*``
or ``retention.*`` use-case (``hub.app.log``, ``hub.app.retention``)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Final
from urllib.parse import urlencode

from aiohttp import web

from hub.app import evidence as evidence_app
from hub.app import log as log_app
from hub.app import retention as retention_app
from hub.app import witness as witness_app
from hub.http.appkeys import RUNTIME
from hub.protocol.errors import HubError, ProtocolError
from hub.web.jobs import JOBS, start_verify
from hub.web.pages import field, form, page_for, render, see_other, web_actor

__all__ = ["routes"]

routes = web.RouteTableDef()
READERS: Final = log_app.LOG_READERS
PAGE: Final = 50
FILTERS: Final = log_app.FILTERS


def _cleaned(request: web.Request) -> dict[str, str]:
    """The filters that were filled in (a GET form sends every field)."""
    kept = {k: v for k, v in request.query.items() if k in FILTERS and v.strip()}
    for flag in ("overrides", "refusals"):
        if flag in kept:
            kept[flag] = "true"
    return kept


@routes.get("/log")
@page_for("log.search")
async def log_page(request: web.Request) -> web.StreamResponse:
    """Search the disclosure log (``kind=access`` and ``actor`` find who viewed what)."""
    kept = _cleaned(request)
    query = log_app.log_query(kept)
    raw_offset = request.query.get("offset", "0")
    offset = int(raw_offset) if raw_offset.isdigit() and len(raw_offset) < 12 else 0
    found = await log_app.search_log(
        request.app[RUNTIME],
        await web_actor(request),
        query,
        offset=offset,
        limit=PAGE + 1,
        with_deliveries=True,
    )
    return render(
        request,
        "log.html",
        {
            "title": "Disclosure log",
            "head": found.head,
            "entries": found.entries[:PAGE],
            "sent": found.deliveries,
            "f": kept,
            "kinds": log_app.KINDS,
            "offset": offset,
            "more": len(found.found) > PAGE,
            "page_size": PAGE,
            "query_string": urlencode(list(kept.items())),
        },
    )


EXPORT_CHUNK: Final = 64 * 1024  # bytes gathered before each write of an export
EXPORT_TYPES: Final = {"csv": "text/csv", "jsonl": "application/jsonl"}


@routes.post("/log/export")
@page_for("log.export")
async def export(request: web.Request) -> web.StreamResponse:
    """Exactly what the log browser's filters select (every page, not the one shown), as
    CSV or JSON Lines, headed by the head signed for it; streamed in chunks as it is read
    (no length known beforehand: the browser shows the bytes as they come), so a large
    log is never held in memory. The export is logged before its first line."""
    values = form(request)
    kept = {k: v for k, v in values.items() if k in FILTERS and isinstance(v, str) and v.strip()}
    fmt = values.get("format")
    if fmt not in EXPORT_TYPES:
        raise ProtocolError("format must be csv or jsonl")
    taken = await log_app.log_export(
        request.app[RUNTIME], await web_actor(request), log_app.log_query(kept), fmt
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{EXPORT_TYPES[fmt]}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{taken.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk: list[bytes] = []
    held = 0
    async for line in taken.lines():
        data = line.encode()
        chunk.append(data)
        held += len(data)
        if held >= EXPORT_CHUNK:
            await response.write(b"".join(chunk))
            chunk, held = [], 0
    if chunk:
        await response.write(b"".join(chunk))
    await response.write_eof()
    return response


@routes.get("/log/entries/{index}")
@page_for("log.entry")
async def entry_page(request: web.Request) -> web.StreamResponse:
    """One entry, its delivery and receipt, and its inclusion proof against a signed head."""
    raw = request.match_info["index"]
    if not raw.isdigit() or len(raw) > 15:
        raise HubError("no such entry", code="not-found")
    index = int(raw)
    found = await log_app.log_entry(request.app[RUNTIME], await web_actor(request), index=index)
    return render(
        request,
        "log_entry.html",
        {
            "title": f"Log entry {index}",
            "index": index,
            "entry": found.entry,
            "raw": found.data.decode(),
            "leaf": found.leaf.hex(),
            "proof": [h.hex() for h in found.proof],
            "head": found.head,
            "verified": found.verified,
            "delivery": found.delivery,
        },
    )


@routes.post("/log/entries/{index}/evidence")
@page_for("log.evidence")
async def entry_evidence(request: web.Request) -> web.StreamResponse:
    """The entry's evidence bundle (``marac-hub log evidence``): a file an investigator
    verifies offline with ``agency-client log verify-evidence``; making it is logged."""
    raw = request.match_info["index"]
    if not raw.isdigit() or len(raw) > 15:
        raise HubError("no such entry", code="not-found")
    bundle = await evidence_app.log_evidence(request.app[RUNTIME], await web_actor(request), [raw])
    return web.Response(
        body=bundle.data,
        headers={
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="{bundle.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
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
@page_for("log.subject")
async def subject_form(request: web.Request) -> web.StreamResponse:
    """The subject access form (names travel in a POST, never in a URL)."""
    return render(request, "subject.html", {"title": "Subject access", "report": None})


@routes.post("/log/subject")
@page_for("log.subject")
async def subject_report(request: web.Request) -> web.StreamResponse:
    """Every disclosure concerning one person (what, to whom, when, why, on which basis)
    and every view of their records; making it is logged as an access."""
    name, dob = _subject_form(request)
    report = await log_app.subject_access(request.app[RUNTIME], await web_actor(request), name, dob)
    return render(
        request,
        "subject.html",
        {
            "title": "Subject access report",
            "report": report.disclosures,
            "views": report.views,
            "cases": report.case_refs,
            "records": report.records,
            "name": name,
            "dob": dob,
            "head": report.head,
            "made_at": report.made_at,
        },
    )


@routes.post("/log/subject.csv")
@page_for("log.subject")
async def subject_csv(request: web.Request) -> web.StreamResponse:
    """The same report as CSV (the log export's columns: the person's entries and the
    views of their records), headed by the signed head it was taken at."""
    name, dob = _subject_form(request)
    report = await log_app.subject_access(request.app[RUNTIME], await web_actor(request), name, dob)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="subject-access-{report.head.size}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    for line in report.csv_lines():
        await response.write(line.encode())
    await response.write_eof()
    return response


@routes.get("/log/reviews")
@page_for("log.reviews")
async def reviews(request: web.Request) -> web.StreamResponse:
    """Overrides (with their justification's hash) and refusals, newest first; held
    disclosures and the decisions taken on them."""
    found = await log_app.log_reviews(request.app[RUNTIME], await web_actor(request))
    return render(
        request,
        "reviews.html",
        {
            "title": "Overrides and refusals",
            "overrides": found.overrides,
            "refusals": found.refusals,
            "held": found.held,
        },
    )


@routes.get("/retention")
@page_for("retention.list")
async def retention(request: web.Request) -> web.StreamResponse:
    """Each case's retention date, legal holds, and cases already destroyed."""
    rt = request.app[RUNTIME]
    items = await retention_app.list_retention(rt, await web_actor(request))
    today = rt.clock().date()
    return render(
        request,
        "retention.html",
        {
            "title": "Retention and legal holds",
            "items": items,
            "today": today,
            "due": [i for i in items if not i.destroyed and i.due <= today and not i.hold],
            "holds": [i for i in items if i.hold and not i.destroyed],
        },
    )


@routes.get("/log/integrity")
@page_for("log.integrity")
async def integrity(request: web.Request) -> web.StreamResponse:
    """The newest signed head, the witnesses and their alarms, and the "verify now" button."""
    rt, who = request.app[RUNTIME], await web_actor(request)
    newest, size = await log_app.log_integrity(rt, who)
    witnesses = await witness_app.witness_status(rt, who)
    runs = sorted(request.app[JOBS].values(), key=lambda j: j.started_at, reverse=True)
    return render(
        request,
        "integrity.html",
        {
            "title": "Integrity",
            "head": newest,
            "size": size,
            "witnesses": witnesses,
            "runs": runs[:5],
            "job": None,
        },
    )


@routes.post("/log/integrity/verify")
@page_for("log.verify")
async def verify_now(request: web.Request) -> web.StreamResponse:
    """Start the full check; its page follows its progress."""
    job = start_verify(request.app, await web_actor(request))
    raise see_other(f"/log/integrity/runs/{job.id}")


@routes.get("/log/integrity/runs/{id}")
@page_for("log.integrity")
async def verify_run(request: web.Request) -> web.StreamResponse:
    """One run: progress while it checks, then the result."""
    job = request.app[JOBS].get(request.match_info["id"])
    if job is None:
        raise HubError("no such verification run (only recent runs are kept)", code="not-found")
    await asyncio.sleep(0.2 if job.running else 0)  # a small log finishes within this
    return render(request, "integrity.html", {"title": "Verifying the log", "job": job})
