"""What a disclosure is asked with and what comes of it: the context, the request, the
three outcomes (sent, held, refused), and the checks every request passes first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.agencies import Agency
from hub.cases import Case
from hub.hub_keys import HubKeys
from hub.policy import Decision, Policy
from hub.protocol.errors import PolicyError, ProtocolError
from hub.protocol.messages import Message
from hub.settings import Settings

__all__ = [
    "MAX_JUSTIFICATION",
    "NOTICE",
    "Disclosed",
    "DisclosureContext",
    "DisclosureRequest",
    "Held",
    "Outcome",
    "Refused",
    "check_override",
    "refuse_unless_disclosed",
]

NOTICE = "notice"  # free notices carry no case data: no policy rule, but the same checks
MAX_JUSTIFICATION = 2000


@dataclass(frozen=True, slots=True)
class DisclosureContext:
    """What every disclosure needs from the running hub."""

    keys: HubKeys
    settings: Settings
    policy: Policy
    now: datetime


@dataclass(frozen=True)
class DisclosureRequest:
    """One message for one agency about zero or more cases (see docs/internals.md)."""

    purpose: str
    agency: Agency
    cases: Sequence[Case]
    build: Callable[[list[dict[str, Any]], Decision], Message]
    actor: str
    meeting_id: str | None = None
    extra_fields: frozenset[str] = field(default_factory=frozenset)
    justification: str | None = None
    case_ref: str | None = None
    hold: bool = False  # held for a second person's approval, whatever the policy says


@dataclass(frozen=True, slots=True)
class Disclosed:
    """Sealed, queued and logged."""

    agency_id: str
    envelope_id: str
    log_index: int


@dataclass(frozen=True, slots=True)
class Held:
    """Held for a coordinator's review (the policy said REVIEW, or four eyes apply)."""

    agency_id: str
    id: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A decision not to share: nothing sealed or queued; the refusal is logged."""

    agency_id: str
    code: str
    reason: str


Outcome = Disclosed | Held | Refused


def refuse_unless_disclosed(outcome: Outcome) -> Disclosed | Held:
    """For a single-recipient call: a refusal becomes the ``PolicyError`` it stands for.

    Commit the transaction before calling this, so the refusal entry is kept.
    """
    if isinstance(outcome, Refused):
        raise PolicyError(outcome.reason, code=outcome.code)
    return outcome


def check_override(extra_fields: frozenset[str], justification: str | None, cases: int) -> None:
    """Refuse an override without a written justification, or one not about one case."""
    if not extra_fields:
        if justification is not None:
            raise ProtocolError("a justification is only given with fields to widen")
        return
    text = (justification or "").strip()
    if not text:
        raise ProtocolError(
            "widening a disclosure needs a written justification", code="missing-field"
        )
    if len(text) > MAX_JUSTIFICATION:
        raise ProtocolError(
            f"a justification is at most {MAX_JUSTIFICATION} characters", code="field-too-large"
        )
    if cases != 1:
        raise ProtocolError("an override widens a disclosure about exactly one case")
