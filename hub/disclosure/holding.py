"""What is kept instead of sent: an override's justification (under the case's key, for
the DPO) and a disclosure held for review (sealed to the hub's own key until a person
decides)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from hub.cases import encrypt_for_case
from hub.crypto.sealing import seal
from hub.disclosure.batch import Batch
from hub.disclosure.entries import basis_of, case_refs_of
from hub.disclosure.request import DisclosureContext, DisclosureRequest, Held
from hub.disclosure.tables import held_disclosures, overrides
from hub.log import LogEntry
from hub.policy import Decision
from hub.protocol.messages import Message

__all__ = ["hold", "record_override"]


async def record_override(
    conn: AsyncConnection, ctx: DisclosureContext, request: DisclosureRequest, batch: Batch
) -> dict[str, str]:
    """Keep the justification under the case's own key; log the override for the DPO."""
    case = request.cases[0]
    text = (request.justification or "").strip().encode()
    override_id = str(ULID())
    digest = hashlib.sha256(text).hexdigest()
    await conn.execute(
        overrides.insert().values(
            id=override_id,
            case_ref=case.ref,
            agency_id=request.agency.id,
            purpose=request.purpose,
            fields=json.dumps(sorted(request.extra_fields)),
            justification=await encrypt_for_case(
                conn, ctx.keys, case.ref, f"override:{override_id}", text
            ),
            justification_sha256=digest,
            requested_by=request.actor,
            created_at=ctx.now,
        )
    )
    batch.entries.append(
        LogEntry(
            kind="override",
            at=ctx.now,
            actor=request.actor,
            case_refs=(case.ref,),
            recipient=request.agency.id,
            purpose=request.purpose,
            fields=tuple(sorted(request.extra_fields)),
            override={"id": override_id, "justification_sha256": digest},
        )
    )
    return {"id": override_id, "justification_sha256": digest}


async def hold(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    request: DisclosureRequest,
    decision: Decision,
    message: Message,
    override: dict[str, str] | None,
    batch: Batch,
) -> Held:
    """Keep the built message sealed to the hub's own key until a coordinator decides."""
    hold_id = str(ULID())
    sealed = seal(
        message,
        sender=ctx.keys.identity,
        sender_id=ctx.settings.hub_id,
        recipient_id=ctx.settings.hub_id,
        recipient_key=ctx.keys.encryption.public,
        now=ctx.now,
        case_ref=request.cases[0].ref if len(request.cases) == 1 else None,
    )
    await conn.execute(
        held_disclosures.insert().values(
            id=hold_id,
            agency_id=request.agency.id,
            purpose=request.purpose,
            case_refs=json.dumps(list(case_refs_of(request))),
            meeting_id=request.meeting_id,
            override_id=override["id"] if override else None,
            sealed=sealed.to_bytes(),
            status="held",
            requested_by=request.actor,
            created_at=ctx.now,
        )
    )
    batch.entries.append(
        LogEntry(
            kind="review",
            at=ctx.now,
            actor=request.actor,
            case_refs=case_refs_of(request) or None,
            recipient=request.agency.id,
            purpose=request.purpose,
            message_type=message.message_type,
            fields=decision.fields or None,
            basis=basis_of(decision),
            policy_version=decision.policy_version,
            status="held",
        )
    )
    return Held(request.agency.id, hold_id)
