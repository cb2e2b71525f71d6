"""The one place this package meets :func:`hub.disclosure.disclose`: send and summarise.

Every agenda, research request, action notice, chase and set of minutes is a
``DisclosureRequest``; what came of it (disclosed, held for review, refused) is reduced
here to an :class:`SendResult` that the workflow records and reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency
from hub.cases import Case
from hub.disclosure import Disclosed, DisclosureRequest, Held, Refused, disclose_many
from hub.protocol.messages import Message

__all__ = ["SendResult", "send", "send_many"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one disclosure did: ``disclosed`` (envelope id), ``held`` (held id) or ``refused``."""

    agency: str
    kind: str
    reference: str | None = None
    code: str | None = None
    reason: str | None = None

    @property
    def sent(self) -> bool:
        """Disclosed now or held for a coordinator's review: either way, not to resend."""
        return self.kind in ("disclosed", "held")

    def as_json(self) -> dict[str, Any]:
        """The outcome as the API shows it (no personal data: codes and ids only)."""
        doc: dict[str, Any] = {"agency": self.agency, "outcome": self.kind}
        if self.reference is not None:
            doc["reference"] = self.reference
        if self.code is not None:
            doc["code"] = self.code
            doc["reason"] = self.reason
        return doc


async def send(
    conn: AsyncConnection,
    ctx: Any,
    *,
    purpose: str,
    agency: Agency,
    cases: Sequence[Case],
    build: Callable[[list[dict[str, Any]], Any], Message],
    actor: str,
    meeting_id: str | None = None,
    case_ref: str | None = None,
) -> SendResult:
    """Disclose one message to one agency in ``conn``'s transaction."""
    (outcome,) = await send_many(
        conn,
        ctx,
        [
            DisclosureRequest(
                purpose=purpose,
                agency=agency,
                cases=cases,
                build=build,
                actor=actor,
                meeting_id=meeting_id,
                case_ref=case_ref,
            )
        ],
    )
    return outcome


async def send_many(
    conn: AsyncConnection, ctx: Any, requests: Sequence[DisclosureRequest]
) -> list[SendResult]:
    """Disclose every request in ``conn``'s transaction (one batch: see ``disclose_many``)."""
    results = await disclose_many(conn, ctx, requests)
    return [_outcome(r.agency.id, result) for r, result in zip(requests, results, strict=True)]


def _outcome(agency_id: str, result: Disclosed | Held | Refused) -> SendResult:
    if isinstance(result, Disclosed):
        return SendResult(agency_id, "disclosed", result.envelope_id)
    if isinstance(result, Held):
        return SendResult(agency_id, "held", str(result.id))
    return SendResult(agency_id, "refused", code=result.code, reason=result.reason)
