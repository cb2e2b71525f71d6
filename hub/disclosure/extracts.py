"""A case extract for one agency, and free notices: the two disclosures staff send by hand."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency, get_agency
from hub.cases import Case, load_case
from hub.disclosure.pipeline import disclose, disclose_many
from hub.disclosure.request import (
    NOTICE,
    DisclosureContext,
    DisclosureRequest,
    Outcome,
    check_override,
)
from hub.policy import Decision
from hub.protocol.errors import HubError, ProtocolError
from hub.protocol.messages import CaseExtract, Message, Notice

__all__ = [
    "MAX_NOTICE",
    "check_extract",
    "extract_request",
    "NoticeOrder",
    "NoticePlan",
    "send_extract",
    "send_notice_batch",
]

MAX_NOTICE = 20_000
CASE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")  # as an envelope header's case_ref


async def _agency(conn: AsyncConnection, agency_id: str) -> Agency:
    agency = await get_agency(conn, agency_id)
    if agency is None:
        raise HubError("no such agency", code="not-found")
    return agency


def check_extract(widen: frozenset[str], justification: str | None, summary: str | None) -> None:
    """Refuse a bad summary, or an override without its justification, before anything
    is read."""
    if summary is not None and not 0 < len(summary) <= MAX_NOTICE:
        raise ProtocolError(f"a summary is 1 to {MAX_NOTICE} characters", code="field-too-large")
    check_override(widen, justification, 1)


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
    hold: bool = False,
) -> Outcome:
    """Disclose a proportionate extract of one case to one agency (optionally widened;
    ``hold``: held for a second person's approval instead of sent)."""
    check_extract(widen, justification, summary)
    case = await load_case(conn, ctx.keys, case_ref)
    agency = await _agency(conn, agency_id)
    return await disclose(
        conn,
        ctx,
        extract_request(
            case,
            agency,
            actor=actor,
            widen=widen,
            justification=justification,
            summary=summary,
            hold=hold,
        ),
    )


def extract_request(
    case: Case,
    agency: Agency,
    *,
    actor: str,
    purpose: str = "case_extract",
    meeting_id: str | None = None,
    widen: frozenset[str] = frozenset(),
    justification: str | None = None,
    summary: str | None = None,
    hold: bool = False,
) -> DisclosureRequest:
    """The request for a ``CaseExtract`` of ``case`` to ``agency``: the case projected
    onto what the policy's rule for ``purpose`` allows (``case_extract`` by hand;
    ``agenda`` for an amended referral re-sent to an agency that had it on an agenda)."""

    def build(projections: list[dict[str, Any]], decision: Decision) -> Message:
        return CaseExtract(
            case_ref=case.ref,
            meeting_id=meeting_id,
            purpose=purpose,
            policy_version=decision.policy_version,
            lawful_basis=decision.basis,
            summary=summary,
            **projections[0],
        )

    return DisclosureRequest(
        purpose=purpose,
        agency=agency,
        cases=[case],
        build=build,
        actor=actor,
        meeting_id=meeting_id,
        extra_fields=widen,
        justification=justification,
        hold=hold,
    )


@dataclass(frozen=True, slots=True)
class NoticeOrder:
    """One free notice as staff asked for it: to one agency id, or ``all``."""

    to: str
    text: str
    case_ref: str | None
    actor: str

    def check(self) -> None:
        """Refuse an empty or oversized text, or a case ref that is none, before anything
        is read or written."""
        if not self.text or len(self.text) > MAX_NOTICE:
            raise ProtocolError(f"a notice is 1 to {MAX_NOTICE:,} characters".replace(",", " "))
        if self.case_ref is not None and not CASE_REF.fullmatch(self.case_ref):
            raise ProtocolError("case_ref is not a case reference")


def _always(notice: Notice) -> Callable[[list[dict[str, Any]], Decision], Message]:
    return lambda _projections, _decision: notice


NoticePlan = tuple[NoticeOrder, Sequence[Agency]]


async def send_notice_batch(
    conn: AsyncConnection, ctx: DisclosureContext, plans: Sequence[NoticePlan | HubError]
) -> list[Sequence[Outcome] | HubError]:
    """Several notices in ``conn``'s transaction, each to the recipients it was planned
    for (read in this transaction), as if sent one after the other, but with one standing
    read, one outbox insert and one log append for all of them (in the plans' order). A
    plan that is an error (its order failed its checks) stays in its place and adds
    nothing."""
    requests: list[DisclosureRequest] = []
    for plan in plans:
        if isinstance(plan, HubError):
            continue
        order, recipients = plan
        notice = Notice(text=order.text)
        requests += [
            DisclosureRequest(
                purpose=NOTICE,
                agency=agency,
                cases=[],
                build=_always(notice),
                actor=order.actor,
                case_ref=order.case_ref,
            )
            for agency in recipients
        ]
    outcomes = await disclose_many(conn, ctx, requests, agencies_current=True)
    results: list[Sequence[Outcome] | HubError] = []
    start = 0
    for plan in plans:
        if isinstance(plan, HubError):
            results.append(plan)
        else:
            results.append(outcomes[start : start + len(plan[1])])
            start += len(plan[1])
    return results
