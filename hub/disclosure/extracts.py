"""A case extract for one agency, and free notices: the two disclosures staff send by hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

__all__ = ["MAX_NOTICE", "NoticeOrder", "send_extract", "send_notice_batch", "send_notices"]

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


@dataclass(frozen=True, slots=True)
class NoticeOrder:
    """One free notice as staff asked for it: to one agency id, or ``all``."""

    to: str
    text: str
    case_ref: str | None
    actor: str

    def check(self) -> None:
        """Refuse an empty or oversized text before anything is read or written."""
        if not self.text or len(self.text) > MAX_NOTICE:
            raise ProtocolError(f"a notice is 1 to {MAX_NOTICE:,} characters".replace(",", " "))


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
    (result,) = await send_notice_batch(conn, ctx, [NoticeOrder(to, text, case_ref, actor)])
    if isinstance(result, HubError):
        raise result
    return result


def _always(notice: Notice) -> Callable[[list[dict[str, Any]], Decision], Message]:
    return lambda _projections, _decision: notice


async def send_notice_batch(
    conn: AsyncConnection, ctx: DisclosureContext, orders: Sequence[NoticeOrder]
) -> list[Sequence[Outcome] | HubError]:
    """Several notices in ``conn``'s transaction, as ``send_notices`` would send each one
    after the other, but with one standing read, one outbox insert and one log append for
    all of them (in the orders' order). An order naming no agency, or failing its
    checks, gets its error in its place and adds nothing."""
    planned: list[int | HubError] = []  # per order: its recipients, or its error
    requests: list[DisclosureRequest] = []
    everyone: list[Agency] | None = None
    for order in orders:
        try:
            order.check()
            if order.to == "all":
                if everyone is None:
                    everyone = await active_agencies(conn)
                recipients = everyone
            else:
                recipients = [await _agency(conn, order.to)]
        except HubError as exc:
            planned.append(exc)
            continue
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
        planned.append(len(recipients))
    outcomes = await disclose_many(conn, ctx, requests, agencies_current=True)
    results: list[Sequence[Outcome] | HubError] = []
    start = 0
    for plan in planned:
        if isinstance(plan, HubError):
            results.append(plan)
        else:
            results.append(outcomes[start : start + plan])
            start += plan
    return results
