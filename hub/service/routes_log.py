"""Routes of the disclosure log: signed heads, proofs, search and export.

Agencies see the newest head, proofs for their own envelopes, consistency proofs and
their own key entries (signed requests: ``hub.app.log``'s ``agency_*``). Staff call the
``log.*`` use-cases: any member of staff the newest head; the DPO and the admin the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from hub.app import evidence as evidence_app
from hub.app import log as log_app
from hub.app.agencies import Agency
from hub.app.catalogue import roles_of
from hub.protocol.canonical import b64encode
from hub.protocol.envelope import loads_strict
from hub.protocol.errors import HubError, ProtocolError
from hub.service.appkeys import RUNTIME
from hub.service.auth import RouteHandler, actor, agency_or_staff, agency_request, staff_for
from hub.service.openapi import documented
from hub.service.openapi_models import (
    Consistency,
    ConsistencyQuery,
    EntriesQuery,
    EvidenceBody,
    EvidenceBundle,
    ExportQuery,
    InclusionProof,
    InclusionQuery,
    KeyEntries,
    LogPage,
    TreeHead,
    Verified,
)
from hub.service.problems import json_body

__all__ = ["parse_query", "routes"]

routes = web.RouteTableDef()
MAX_INDEX: Final = 2**53 - 1


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


def parse_query(request: web.Request) -> log_app.LogQuery:
    """Search filters from query parameters (``log_app.FILTERS``: ``case``, ``agency``,
    ``purpose``, ``basis``, ``category``, ``subject``, ``kind``, ``actor``, ``since``,
    ``until``, ``overrides``, ``refusals``)."""
    return log_app.log_query({k: v for k, v in request.query.items() if k in log_app.FILTERS})


def _names(use_case: str) -> Callable[[RouteHandler], RouteHandler]:
    """Name the use-case a route open to agencies and staff calls for staff."""

    def decorate(handler: RouteHandler) -> RouteHandler:
        handler.use_case = use_case  # type: ignore[attr-defined]
        return handler

    return decorate


def _proof(hashes: list[bytes]) -> list[str]:
    return [b64encode(h) for h in hashes]


def _inclusion_json(found: log_app.EntryProof) -> dict[str, Any]:
    return {
        "index": found.index,
        "entry": b64encode(found.data),
        "head": found.head.to_json(),
        "proof": _proof(found.proof),
    }


@routes.get("/api/v1/log/head")
@documented(TreeHead)
@_names("log.head")
@agency_or_staff(*roles_of("log.head"))
async def head(request: web.Request, agency: Agency | None) -> web.Response:
    """The newest signed tree head."""
    rt = request.app[RUNTIME]
    if agency is not None:
        signed = await log_app.agency_head(rt)
    else:
        signed = await log_app.log_head(rt, await actor(request))
    return web.json_response(signed.to_json())


@routes.get("/api/v1/log/inclusion")
@documented(InclusionProof, query=InclusionQuery)
@_names("log.entry")
@agency_or_staff(*roles_of("log.entry"))
async def inclusion(request: web.Request, agency: Agency | None) -> web.Response:
    """An entry and its inclusion proof against the newest signed head."""
    envelope_id = request.query.get("envelope_id")
    if (envelope_id is None) == ("index" not in request.query):
        raise ProtocolError("send exactly one of envelope_id and index")
    rt = request.app[RUNTIME]
    if agency is not None:
        if envelope_id is None:
            raise HubError("agencies look entries up by envelope_id", code="forbidden")
        found = await log_app.agency_inclusion(rt, agency.id, envelope_id)
    elif envelope_id is not None:
        found = await log_app.log_entry(rt, await actor(request), envelope_id=envelope_id)
    else:
        found = await log_app.log_entry(rt, await actor(request), index=_int(request, "index"))
    return web.json_response(_inclusion_json(found))


@routes.get("/api/v1/log/consistency")
@documented(Consistency, query=ConsistencyQuery)
@_names("log.consistency")
@agency_or_staff(*roles_of("log.consistency"))
async def consistency(request: web.Request, agency: Agency | None) -> web.Response:
    """The consistency proof between two signed sizes."""
    old, new = _int(request, "from"), _int(request, "to")
    rt = request.app[RUNTIME]
    if agency is not None:
        proof = await log_app.agency_consistency(rt, old, new)
    else:
        proof = await log_app.log_consistency(rt, await actor(request), old, new)
    return web.json_response({"from": old, "to": new, "proof": _proof(proof)})


@routes.get("/api/v1/log/keys")
@documented(KeyEntries)
@agency_request
async def keys(request: web.Request, agency: Agency, _body: bytes) -> web.Response:
    """Every key entry concerning the calling agency, each with its proof."""
    signed, found = await log_app.agency_key_entries(request.app[RUNTIME], agency.id)
    out = [
        {"index": index, "entry": b64encode(data), "proof": _proof(proof)}
        for index, data, proof in found
    ]
    return web.json_response({"head": signed.to_json(), "entries": out})


@routes.get("/api/v1/log/entries")
@documented(LogPage, query=EntriesQuery)
@staff_for("log.search")
async def entries(request: web.Request) -> web.Response:
    """Search the log: a page of matching entries, as of the newest signed head."""
    query = parse_query(request)
    offset = _int(request, "offset", default=0)
    limit = _int(request, "limit", default=100, high=log_app.MAX_PAGE)
    if limit == 0:
        raise ProtocolError("limit must be from 1 to 1000")
    found = await log_app.search_log(
        request.app[RUNTIME], await actor(request), query, offset=offset, limit=limit
    )
    assert found.head is not None
    return web.json_response(
        {
            "head": found.head.to_json(),
            "offset": offset,
            "limit": limit,
            "entries": [{"index": i, "entry": loads_strict(e)} for i, e in found.found],
        }
    )


@routes.get("/api/v1/log/export")
@documented(query=ExportQuery, media=("application/jsonl", "text/csv"))
@staff_for("log.export")
async def export(request: web.Request) -> web.StreamResponse:
    """Export matching entries as CSV or JSON Lines, headed by the signed head."""
    fmt = request.query.get("format", "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise ProtocolError("format must be csv or jsonl")
    taken = await log_app.log_export(
        request.app[RUNTIME], await actor(request), parse_query(request), fmt
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8"
            if fmt == "csv"
            else "application/jsonl; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{taken.filename}"',
        }
    )
    await response.prepare(request)
    async for line in taken.lines():
        await response.write(line.encode())
    await response.write_eof()
    return response


@routes.post("/api/v1/log/evidence")
@documented(EvidenceBundle, body=EvidenceBody)
@staff_for("log.evidence")
async def evidence(request: web.Request) -> web.Response:
    """An evidence bundle of the named entries (indices or envelope ids): their logged
    bytes and inclusion proofs against one checkpoint, its cosignatures and the keys,
    signed by the hub; it verifies offline (``agency-client log verify-evidence``).
    Making it is logged as an access entry."""
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"entries"}:
        raise ProtocolError('send {"entries": [index or envelope id, ...]}')
    bundle = await evidence_app.log_evidence(
        request.app[RUNTIME], await actor(request), body["entries"]
    )
    return web.Response(
        body=bundle.data,
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{bundle.filename}"'},
    )


@routes.post("/api/v1/log/verify")
@documented(Verified)
@staff_for("log.verify")
async def verify(request: web.Request) -> web.Response:
    """Verify the whole stored log; the answer says whether and where it fails."""
    try:
        result = await log_app.verify_log_now(request.app[RUNTIME], await actor(request))
    except log_app.LogTampered as exc:
        return web.json_response(
            {"ok": False, "error": exc.message, "index": exc.index, "head": exc.head_id}
        )
    return web.json_response(result.to_json())
