"""A case extract for one agency, and free notices: the two disclosures staff send by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency, active_agencies, get_agency
from hub.cases import load_case
from hub.disclosure.pipeline import (
    NOTICE,
    DisclosureContext,
    DisclosureRequest,
    Outcome,
    check_override,
    disclose,
    disclose_many,
)
from hub.policy import Decision
from hub.protocol.errors import HubError, ProtocolError
from hub.protocol.messages import CaseExtract, Message, Notice

__all__ = ["MAX_NOTICE", "send_extract", "send_notices"]

MAX_NOTICE = 20_000


async def _agency(conn: AsyncConnection, agency_id: str) -> Agency:
    agency = await get_agency(conn, agency_id)
    if agency is None:
        raise HubError("no such agency", code="not-found")
    return agency


async def send_extract(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    *,
    case_ref: str,
    agency_id: str,
    actor: str,
    widen: frozenset[str] = frozenset(),
    justification: str | None = None,
    summary: str | None = None,
) -> Outcome:
    """Disclose a proportionate extract of one case to one agency (optionally widened)."""
    if summary is not None and not 0 < len(summary) <= MAX_NOTICE:
        raise ProtocolError(f"a summary is 1 to {MAX_NOTICE} characters", code="field-too-large")
    check_override(widen, justification, 1)
    case = await load_case(conn, ctx.keys, case_ref)
    agency = await _agency(conn, agency_id)

    def build(projections: list[dict[str, Any]], decision: Decision) -> Message:
        view = projections[0]
        return CaseExtract(
            case_ref=case.ref,
            purpose="case_extract",
            policy_version=decision.policy_version,
            lawful_basis=decision.basis,
            summary=summary,
            **view,
        )

    return await disclose(
        conn,
        ctx,
        DisclosureRequest(
            purpose="case_extract",
            agency=agency,
            cases=[case],
            build=build,
            actor=actor,
            extra_fields=widen,
            justification=justification,
        ),
    )


async def send_notices(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    *,
    to: str,
    text: str,
    case_ref: str | None,
    actor: str,
) -> Sequence[Outcome]:
    """A free-text notice to one agency, or ``all`` active agencies; one outcome each."""
    if not text or len(text) > MAX_NOTICE:
        raise ProtocolError(f"a notice is 1 to {MAX_NOTICE:,} characters".replace(",", " "))
    if to == "all":
        recipients = await active_agencies(conn)
    else:
        recipients = [await _agency(conn, to)]
    notice = Notice(text=text)
    return await disclose_many(
        conn,
        ctx,
        [
            DisclosureRequest(
                purpose=NOTICE,
                agency=agency,
                cases=[],
                build=lambda _projections, _decision: notice,
                actor=actor,
                case_ref=case_ref,
            )
            for agency in recipients
        ],
    )
