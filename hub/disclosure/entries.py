"""The disclosure log's view of a request: its case refs, consent, lawful basis, and the
entry a refusal leaves."""

from __future__ import annotations

from hub.disclosure.request import DisclosureContext, DisclosureRequest
from hub.log import LogEntry
from hub.policy import Decision

__all__ = ["basis_of", "case_refs_of", "consent_of", "refusal_entry"]


def basis_of(decision: Decision) -> dict[str, str] | None:
    if decision.basis is None:
        return None
    return {"id": decision.basis.id, "version": str(decision.basis.version)}


def case_refs_of(request: DisclosureRequest) -> tuple[str, ...]:
    if not request.cases and request.case_ref is not None:
        return (request.case_ref,)
    return tuple(case.ref for case in request.cases)


def consent_of(request: DisclosureRequest) -> str | None:
    return request.cases[0].consent if len(request.cases) == 1 else None


def refusal_entry(
    ctx: DisclosureContext, request: DisclosureRequest, decision: Decision, code: str
) -> LogEntry:
    return LogEntry(
        kind="refusal",
        at=ctx.now,
        actor=request.actor,
        case_refs=case_refs_of(request) or None,
        sender=ctx.settings.hub_id,
        recipient=request.agency.id,
        purpose=request.purpose,
        policy_version=decision.policy_version,
        refusal_code=code,
    )
