"""The policy decision: may this purpose go to this agency, which fields, on what basis.

Answers PERMIT, REVIEW or DENY. A denial carries a problem code
(``agency-not-active``, ``key-revoked``, ``isp-not-signed``, ``no-lawful-basis``) and a
reason naming agencies, kinds, purposes, fields and bases only: never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency
from hub.policy.bases import Basis
from hub.policy.fields import ALL_FIELDS, FIELDS, PURPOSE_FIELDS, PURPOSES, categories_of
from hub.policy.policy import Policy
from hub.policy.standing import Standing
from hub.protocol.errors import ProtocolError
from hub.protocol.messages import BasisRef

__all__ = ["Decision", "Verdict", "basis_gap", "decide", "explain", "recipient_refusal"]


class Verdict(StrEnum):
    """What the policy answers."""

    PERMIT = "permit"
    REVIEW = "review"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one purpose and recipient, and everything the log records of it."""

    outcome: Verdict
    purpose: str
    policy_version: str
    fields: tuple[str, ...] = ()
    data_categories: tuple[str, ...] = ()
    basis: BasisRef | None = None
    code: str | None = None
    reason: str | None = None
    extra_fields: tuple[str, ...] = ()
    restricted: bool = False
    owner_only: frozenset[str] = frozenset()

    def sends(self, path: str, *, owner: str | None = None, recipient: str | None = None) -> bool:
        """True if ``path`` may go to this recipient: a field of the decision, and, for a
        free text the rule sends only to an action's owner, the recipient owns it."""
        if path not in self.fields:
            return False
        return path not in self.owner_only or (owner is not None and owner == recipient)


def basis_gap(
    basis: Basis | None, basis_id: str, purpose: str, categories: tuple[str, ...]
) -> str | None:
    """Why ``basis`` does not cover ``purpose`` and ``categories``, or None if it does."""
    if basis is None:
        return f"lawful basis {basis_id} is missing or retired"
    if purpose not in basis.purposes:
        return f"lawful basis {basis_id} v{basis.version} does not cover the purpose {purpose}"
    uncovered = sorted(set(categories) - set(basis.data_categories))
    if uncovered:
        return (
            f"lawful basis {basis_id} v{basis.version} does not cover "
            f"the data categories {', '.join(uncovered)}"
        )
    return None


async def decide(
    conn: AsyncConnection,
    policy: Policy,
    *,
    purpose: str,
    agency: Agency,
    now: datetime,
    restricted: bool = False,
    extra_fields: frozenset[str] = frozenset(),
    standing: Standing | None = None,
) -> Decision:
    """Decide whether ``purpose`` may go to ``agency`` now, and with which fields.

    ``restricted``: the case says the perpetrator must not know (the rule's
    ``restricted_fields`` apply). ``extra_fields``: a coordinator's override, which the
    basis must still cover. ``standing``: the recipients' standing read once for a batch
    in this transaction (read here for ``agency`` alone if not given).
    """
    if purpose not in PURPOSES:
        raise ProtocolError(f"unknown purpose {purpose[:40]!r}")
    unknown = sorted(p for p in extra_fields if p not in FIELDS)
    if unknown:
        raise ProtocolError(f"unknown field {unknown[0][:60]!r}")
    denied = Decision(
        Verdict.DENY,
        purpose=purpose,
        policy_version=policy.version,
        code="no-lawful-basis",
        restricted=restricted,
        extra_fields=tuple(sorted(extra_fields)),
    )
    if standing is None:
        standing = await Standing.read(conn, [agency.id], now)
    refusal = standing.refusal(agency.id)
    if refusal is not None:
        code, reason = refusal
        return replace(denied, code=code, reason=reason)
    rule = policy.rule(purpose, agency.kind)
    if rule is None:
        reason = f"policy {policy.version} has no rule for {purpose} to {agency.kind}"
        return replace(denied, reason=reason)
    fields = rule.fields_for(restricted) | extra_fields
    denied = replace(denied, fields=tuple(sorted(fields)), data_categories=categories_of(fields))
    cannot = sorted(extra_fields - PURPOSE_FIELDS[purpose])
    if cannot:
        return replace(denied, reason=f"{purpose} cannot carry {cannot[0]}")
    basis = await standing.basis(conn, rule.basis)
    gap = basis_gap(basis, rule.basis, purpose, denied.data_categories)
    if gap is not None or basis is None:
        return replace(denied, reason=gap)
    return replace(
        denied,
        outcome=Verdict(rule.decision),
        code=None,
        basis=BasisRef(id=basis.id, version=basis.version),
        owner_only=rule.owner_only(restricted) - extra_fields,
    )


async def recipient_refusal(
    conn: AsyncConnection, agency_id: str, now: datetime
) -> tuple[str, str] | None:
    """``(code, reason)`` if the agency may receive nothing now (status, key, ISP), else None.

    Read in ``conn``, as the caller's transaction sees the agency. Free notices, which
    carry no case data, are checked with this alone.
    """
    return (await Standing.read(conn, [agency_id], now)).refusal(agency_id)


def explain(
    policy: Policy, basis: Basis | None, *, purpose: str, kind: str, restricted: bool = False
) -> dict[str, Any]:
    """What ``purpose`` would carry to an agency of ``kind``, and why (no agency checks).

    ``basis`` is the current version of the rule's basis (the caller looks it up).
    """
    rule = policy.rule(purpose, kind)
    carried = PURPOSE_FIELDS[purpose]
    sent = rule.fields_for(restricted) if rule else frozenset()
    doc: dict[str, Any] = {
        "purpose": purpose,
        "kind": kind,
        "restricted": restricted,
        "policy_version": policy.version,
        "rule": rule.number if rule else None,
        "sent": [{"field": p, "category": ALL_FIELDS[p]} for p in sorted(sent)],
        "not_sent": [{"field": p, "category": ALL_FIELDS[p]} for p in sorted(carried - sent)],
        "basis": basis.to_json() | {"references": basis.references()} if basis else None,
    }
    if rule is None:
        reason: str | None = f"policy {policy.version} has no rule for {purpose} to {kind}"
    else:
        reason = basis_gap(basis, rule.basis, purpose, categories_of(sent))
    if rule is not None and rule.owner_only(restricted):
        doc["owner_only"] = sorted(rule.owner_only(restricted))
    doc["decision"] = "deny" if rule is None or reason else rule.decision
    doc["reason"] = reason
    return doc
