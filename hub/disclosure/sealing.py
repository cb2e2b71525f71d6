"""Step 4, seal: the envelope to the agency's newest key, its outbox row and its
disclosure log entry, added to the batch together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.crypto.keys import EncryptionPublicKey
from hub.crypto.sealing import seal
from hub.delivery.settings import deliveries_of
from hub.disclosure.batch import Batch
from hub.disclosure.entries import basis_of
from hub.disclosure.request import Disclosed, DisclosureContext
from hub.log import LogEntry
from hub.policy import Decision
from hub.protocol.messages import Message, Rendered

__all__ = ["seal_and_log", "seal_into"]


async def seal_and_log(
    conn: AsyncConnection,
    ctx: DisclosureContext,
    *,
    message: Message,
    payload: Mapping[str, Any],
    agency_id: str,
    key: EncryptionPublicKey,
    purpose: str,
    case_refs: tuple[str, ...],
    consent: str | None,
    decision: Decision,
    override: dict[str, str] | None,
    actor: str,
) -> Disclosed:
    """The last step of every disclosure: envelope, outbox row and log entry together.

    The message is rendered in the agency's format first (``json`` keeps it as it is);
    ``payload`` (the typed message's) names the fields and subjects logged, and the log
    records the format and the SHA-256 of what was actually sealed.
    """
    batch = Batch(None, await deliveries_of(conn, [agency_id]))
    sent = seal_into(
        ctx,
        batch,
        message=message,
        payload=payload,
        agency_id=agency_id,
        key=key,
        purpose=purpose,
        case_refs=case_refs,
        consent=consent,
        decision=decision,
        override=override,
        actor=actor,
    )
    (index,) = await batch.write(conn)
    return replace(sent, log_index=index)


def seal_into(
    ctx: DisclosureContext,
    batch: Batch,
    *,
    message: Message,
    payload: Mapping[str, Any],
    agency_id: str,
    key: EncryptionPublicKey,
    purpose: str,
    case_refs: tuple[str, ...],
    consent: str | None,
    decision: Decision,
    override: dict[str, str] | None,
    actor: str,
) -> Disclosed:
    """Seal to ``key`` and add the outbox row and log entry to ``batch``; the returned
    ``log_index`` is the entry's place in the batch."""
    sealed = batch.rendered(agency_id, message)
    sealed_payload = payload if sealed is message else batch.payload(sealed)
    case_ref = case_refs[0] if len(case_refs) == 1 else None
    envelope = seal(
        sealed,
        sender=ctx.keys.identity,
        sender_id=ctx.settings.hub_id,
        recipient_id=agency_id,
        recipient_key=key,
        now=ctx.now,
        case_ref=case_ref,
        payload_json=batch.canonical(sealed, sealed_payload),
    )
    digest = envelope.digest()
    batch.outbox.append(
        {
            "envelope_id": envelope.header.id,
            "agency_id": agency_id,
            "type": envelope.header.type,
            "case_ref": case_ref,
            "recipient_key": key.fingerprint,
            "digest": digest,
            "envelope": envelope.to_bytes(),
            "status": "queued",
            "created_at": ctx.now,
            "expires_at": ctx.now + ctx.settings.envelope_ttl,
            "sent_by": actor,
        }
    )
    subject_ids, fields = batch.logged(message, payload)
    batch.entries.append(
        LogEntry(
            kind="disclosure",
            at=ctx.now,
            actor=actor,
            envelope_id=envelope.header.id,
            envelope_sha256=digest,
            payload_sha256=batch.payload_sha256(sealed, sealed_payload),
            case_refs=case_refs or None,
            subject_ids=subject_ids,
            sender=ctx.settings.hub_id,
            recipient=agency_id,
            purpose=purpose,
            message_type=message.message_type,
            format=sealed.format if isinstance(sealed, Rendered) else "json",
            fields=fields,
            data_categories=decision.data_categories or None,
            basis=basis_of(decision),
            consent=consent,
            policy_version=decision.policy_version,
            override=override,
        )
    )
    return Disclosed(agency_id, envelope.header.id, len(batch.entries) - 1)
