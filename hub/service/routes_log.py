"""Routes of the disclosure log: signed heads, proofs, search and export.

Agencies see the newest head, proofs for their own envelopes, consistency proofs and
their own key entries; the DPO (and for search, export and verify, the admin) sees all.
"""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web
from sqlalchemy import select

from hub.agencies import Agency
from hub.log import store
from hub.log.entries import KEY_KINDS
from hub.log.heads import head_covering, latest_head
from hub.log.search import LogQuery, export_lines, parse_moment, search
from hub.log.tables import log_entries, log_index
from hub.log.verify import LogTampered, verify_log
from hub.protocol.canonical import b64encode
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import HubError, ProtocolError
from hub.service.appkeys import ENGINE, KEYS, SETTINGS
from hub.service.auth import agency_or_staff, agency_request, staff

__all__ = ["parse_query", "routes"]

routes = web.RouteTableDef()
MAX_INDEX: Final = 2**53 - 1
MAX_PAGE: Final = 1000
_TEXT: Final = re.compile(r"^[A-Za-z0-9._:@/+-]{1,200}$")


def _int(
    request: web.Request, name: str, *, default: int | None = None, high: int = MAX_INDEX
) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise ProtocolError(f"{name} is required")
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or int(raw) > high:
        raise ProtocolError(f"{name} must be a whole number from 0 to {high}")
    return int(raw)


def _text(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not _TEXT.match(raw):
        raise ProtocolError(f"{name} must be 1-200 letters, digits or . _ : @ / + -")
    return raw


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ProtocolError(f"{name} must be true or false")
    return raw in ("true", "1")


def parse_query(request: web.Request) -> LogQuery:
    """Search filters from query parameters (``case``, ``agency``, ``purpose``, ``basis``,
    ``category``, ``subject``, ``since``, ``until``, ``overrides``, ``refusals``)."""
    since = parse_moment(request.query.get("since"), "since")
    until = parse_moment(request.query.get("until"), "until", end=True)
    if since is not None and until is not None and since > until:
        raise ProtocolError("since is after until")
    return LogQuery(
        case_ref=_text(request, "case"),
        agency=_text(request, "agency"),
        purpose=_text(request, "purpose"),
        basis_id=_text(request, "basis"),
        category=_text(request, "category"),
        subject_id=_text(request, "subject"),
        since=since,
        until=until,
        overrides=_flag(request, "overrides"),
        refusals=_flag(request, "refusals"),
    )


async def _covering(request: web.Request, tree_size: int = 0) -> Any:
    app = request.app
    return await head_covering(app[ENGINE], app[KEYS].identity, app[SETTINGS].hub_id, tree_size)


async def _current(request: web.Request) -> Any:
    """A head covering every entry committed so far (signed now if the signer lags)."""
    async with request.app[ENGINE].connect() as conn:
        current = await store.size(conn)
    return await _covering(request, current)


def _proof(hashes: list[bytes]) -> list[str]:
    return [b64encode(h) for h in hashes]


@routes.get("/api/v1/log/head")
@agency_or_staff("admin", "coordinator", "dpo")
async def head(request: web.Request, _agency: Agency | None) -> web.Response:
    """The newest signed tree head."""
    return web.json_response((await _covering(request)).to_json())


@routes.get("/api/v1/log/inclusion")
@agency_or_staff("dpo")
async def inclusion(request: web.Request, agency: Agency | None) -> web.Response:
    """An entry and its inclusion proof against the newest signed head."""
    envelope_id = request.query.get("envelope_id")
    if (envelope_id is None) == ("index" not in request.query):
        raise ProtocolError("send exactly one of envelope_id and index")
    async with request.app[ENGINE].connect() as conn:
        if envelope_id is not None:
            if len(envelope_id) > 64:
                raise ProtocolError("envelope_id is too long")
            row = (
                await conn.execute(
                    select(log_index.c.idx, log_index.c.agency).where(
                        log_index.c.envelope_id == envelope_id
                    )
                )
            ).first()
            if row is None or (agency is not None and row.agency != agency.id):
                raise HubError("no such logged envelope for you", code="unknown-envelope")
            index = int(row.idx)
        else:
            if agency is not None:
                raise HubError("agencies look entries up by envelope_id", code="forbidden")
            index = _int(request, "index")
        data = await store.entry(conn, index)
    if data is None:
        raise HubError(f"no entry {index}", code="not-found")
    signed = await _covering(request, index + 1)
    proof = await store.proof_reader(request.app[ENGINE]).inclusion_proof(index, signed.size)
    return web.json_response(
        {"index": index, "entry": b64encode(data), "head": signed.to_json(), "proof": _proof(proof)}
    )


@routes.get("/api/v1/log/consistency")
@agency_or_staff("dpo")
async def consistency(request: web.Request, _agency: Agency | None) -> web.Response:
    """The consistency proof between two signed sizes."""
    old, new = _int(request, "from"), _int(request, "to")
    if old > new:
        raise ProtocolError("from must not exceed to")
    async with request.app[ENGINE].connect() as conn:
        newest = await latest_head(conn, request.app[SETTINGS].hub_id)
        if new > (newest.size if newest else 0):
            raise ProtocolError("to is beyond the newest signed head")
    proof = await store.proof_reader(request.app[ENGINE]).consistency_proof(old, new)
    return web.json_response({"from": old, "to": new, "proof": _proof(proof)})


@routes.get("/api/v1/log/keys")
@agency_request
async def keys(request: web.Request, agency: Agency, _body: bytes) -> web.Response:
    """Every key entry concerning the calling agency, each with its proof."""
    async with request.app[ENGINE].connect() as conn:
        last = await conn.scalar(
            select(log_index.c.idx)
            .where(log_index.c.agency == agency.id, log_index.c.kind.in_(KEY_KINDS))
            .order_by(log_index.c.idx.desc())
            .limit(1)
        )
    signed = await _covering(request, 0 if last is None else int(last) + 1)
    out = []
    async with request.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(log_entries.c.idx, log_entries.c.entry)
            .join(log_index, log_index.c.idx == log_entries.c.idx)
            .where(
                log_index.c.agency == agency.id,
                log_index.c.kind.in_(KEY_KINDS),
                log_entries.c.idx < signed.size,
            )
            .order_by(log_entries.c.idx)
        )
        for row in rows.all():
            proof = await store.proof_reader(request.app[ENGINE]).inclusion_proof(
                int(row.idx), signed.size
            )
            out.append(
                {
                    "index": int(row.idx),
                    "entry": b64encode(bytes(row.entry)),
                    "proof": _proof(proof),
                }
            )
    return web.json_response({"head": signed.to_json(), "entries": out})


@routes.get("/api/v1/log/entries")
@staff("dpo", "admin")
async def entries(request: web.Request) -> web.Response:
    """Search the log: a page of matching entries, as of the newest signed head."""
    query = parse_query(request)
    offset = _int(request, "offset", default=0)
    limit = _int(request, "limit", default=100, high=MAX_PAGE)
    if limit == 0:
        raise ProtocolError("limit must be from 1 to 1000")
    signed = await _current(request)
    async with request.app[ENGINE].connect() as conn:
        found = await search(conn, query, below=signed.size, offset=offset, limit=limit)
    return web.json_response(
        {
            "head": signed.to_json(),
            "offset": offset,
            "limit": limit,
            "entries": [{"index": i, "entry": loads_strict(e)} for i, e in found],
        }
    )


@routes.get("/api/v1/log/export")
@staff("dpo", "admin")
async def export(request: web.Request) -> web.StreamResponse:
    """Export matching entries as CSV or JSON Lines, headed by the signed head."""
    fmt = request.query.get("format", "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise ProtocolError("format must be csv or jsonl")
    query = parse_query(request)
    signed = await _current(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8"
            if fmt == "csv"
            else "application/jsonl; charset=utf-8",
            "Content-Disposition": f'attachment; filename="disclosure-log-{signed.size}.{fmt}"',
        }
    )
    await response.prepare(request)
    async with request.app[ENGINE].connect() as conn:
        async for line in export_lines(conn, query, signed, "csv" if fmt == "csv" else "jsonl"):
            await response.write(line.encode())
    await response.write_eof()
    return response


@routes.post("/api/v1/log/verify")
@staff("dpo", "admin")
async def verify(request: web.Request) -> web.Response:
    """Verify the whole stored log; the answer says whether and where it fails."""
    app = request.app
    async with app[ENGINE].connect() as conn:
        try:
            result = await verify_log(conn, app[KEYS].identity.public, app[SETTINGS].hub_id)
        except LogTampered as exc:
            return web.json_response(
                {"ok": False, "error": exc.message, "index": exc.index, "head": exc.head_id}
            )
    return web.json_response(result.to_json())
