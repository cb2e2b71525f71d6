"""Step 1, decide: the policy's decision for one purpose to one agency (a free notice
has no rule: only the recipient's standing is checked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency
from hub.cases import Case
from hub.disclosure.request import NOTICE, DisclosureContext
from hub.policy import Decision
from hub.policy.decide import Verdict, decide
from hub.policy.standing import Standing

__all__ = ["all_restricted", "decide_for"]


def all_restricted(cases: Sequence[Case]) -> bool:
    """True when every case says the perpetrator must not know (and there is one)."""
    return bool(cases) and all(case.perpetrator_must_not_know for case in cases)


async def decide_for(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    purpose: str,
    agency: Agency,
    extra_fields: frozenset[str] = frozenset(),
    *,
    restricted: bool,
    standing: Standing | None = None,
) -> Decision:
    """The policy's decision for ``purpose`` to ``agency`` (``restricted``: under the rule's
    fields for a case whose perpetrator must not know; ``standing``: read once for a batch)."""
    if standing is None:
        standing = await Standing.read(conn, [agency.id], ctx.now)
    if purpose == NOTICE:
        return _decide_notice(ctx, agency, standing)
    return await decide(
        conn,
        ctx.policy,
        purpose=purpose,
        agency=agency,
        now=ctx.now,
        restricted=restricted,
        extra_fields=extra_fields,
        standing=standing,
    )


def _decide_notice(ctx: DisclosureContext, agency: Agency, standing: Standing) -> Decision:
    """A free notice carries no case data, so no rule or basis: only the recipient checks."""
    refusal = standing.refusal(agency.id)
    verdict = Decision(Verdict.PERMIT, purpose=NOTICE, policy_version=ctx.policy.version)
    if refusal is not None:
        code, reason = refusal
        return replace(verdict, outcome=Verdict.DENY, code=code, reason=reason)
    return verdict
