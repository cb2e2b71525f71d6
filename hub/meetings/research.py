"""Research: agencies' answers to research requests, stored under the case key, compiled.

A response is accepted only from the agency the request was sent to, for the case it
named; a later response to the same request replaces the earlier one (the newest is
what the meeting reads). ``compile_research`` gives, per agenda case, each agency's
items marked fact or opinion, what it withheld and why, and who has not responded.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases import decrypt_for_case, encrypt_for_case
from hub.hub_keys import HubKeys
from hub.meetings.listing import agenda
from hub.meetings.meetings import Meeting
from hub.meetings.tables import research_requests, research_responses
from hub.protocol.errors import PolicyError
from hub.protocol.messages import ResearchResponse, payload_of

__all__ = ["compile_research", "store_response"]


def _field(request_id: str) -> str:
    return f"research:{request_id}"


async def store_response(
    conn: AsyncConnection,
    keys: HubKeys,
    agency_id: str,
    response: ResearchResponse,
    *,
    envelope_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Keep an agency's response under the case key; refuse one nobody asked it for."""
    request = (
        await conn.execute(
            select(research_requests).where(research_requests.c.id == response.request_id)
        )
    ).first()
    if request is None or request.agency_id != agency_id or request.case_ref != response.case_ref:
        raise PolicyError("this agency was not asked for this research", code="not-requested")
    body = await encrypt_for_case(
        conn,
        keys,
        request.case_ref,
        _field(request.id),
        json.dumps(payload_of(response), separators=(",", ":")).encode(),
    )
    values = {
        "envelope_id": envelope_id,
        "responded_at": response.responded_at,
        "received_at": now,
        "body": body,
    }
    done = await conn.execute(
        update(research_responses)
        .where(research_responses.c.request_id == request.id)
        .values(**values)
    )
    replaced = done.rowcount == 1
    if not replaced:
        await conn.execute(research_responses.insert().values(request_id=request.id, **values))
    return {"request_id": request.id, "case_ref": request.case_ref, "replaced": replaced}


async def compile_research(
    conn: AsyncConnection, keys: HubKeys, meeting: Meeting
) -> dict[str, Any]:
    """Per agenda case: who was asked, what each said (fact or opinion), withheld, missing.

    For staff of the meeting's area only: research answers never leave the hub.
    """
    rows = (
        await conn.execute(
            select(
                research_requests.c.id,
                research_requests.c.case_ref,
                research_requests.c.agency_id,
                research_requests.c.respond_by,
                research_responses.c.body,
                research_responses.c.received_at,
            )
            .select_from(research_requests)
            .outerjoin(
                research_responses, research_responses.c.request_id == research_requests.c.id
            )
            .where(research_requests.c.meeting_id == meeting.id)
            .order_by(research_requests.c.agency_id)
        )
    ).all()
    by_case: dict[str, list[Any]] = {}
    for row in rows:
        by_case.setdefault(row.case_ref, []).append(row)
    cases = []
    for entry in await agenda(conn, meeting):
        ref = entry.case.ref
        responses, missing = [], []
        for row in by_case.get(ref, []):
            if row.body is None:
                missing.append(row.agency_id)
                continue
            doc = json.loads(await decrypt_for_case(conn, keys, ref, _field(row.id), row.body))
            responses.append(
                {
                    "agency": row.agency_id,
                    "responded_at": doc["responded_at"],
                    "nothing_known": doc["nothing_known"],
                    "facts": [i for i in doc.get("items", []) if i["kind"] == "fact"],
                    "opinions": [i for i in doc.get("items", []) if i["kind"] == "opinion"],
                    "withheld": doc.get("withheld", []),
                }
            )
        cases.append(
            {
                "case_ref": ref,
                "position": entry.position,
                "requested": sorted(r.agency_id for r in by_case.get(ref, [])),
                "responses": responses,
                "not_responded": missing,
            }
        )
    return {"meeting_id": meeting.id, "cases": cases}
