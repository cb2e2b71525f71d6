"""Messages from the agency to its hub: research responses and action updates.

The hub publishes its encryption key at ``GET /api/v1/hub`` in a key announcement
signed by its identity key; :func:`fetch_hub_key` accepts it only if that signature
verifies with the hub key pinned at enrolment. :func:`send_to_hub` seals a message to
it (signed with the agency's identity key) and posts it with a signed request.

The builders look up what is being answered in the local store: the newest research
request received for a case, or the action notice of an action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from agency_client.store import Store, StoreError
from hub.crypto.announce import SignedKeyAnnouncement, verify_announcement
from hub.crypto.keys import EncryptionPublicKey, IdentityPublicKey
from hub.crypto.sealing import seal
from hub.protocol.errors import CryptoError, HubError, ProtocolError
from hub.protocol.messages import (
    ActionNotice,
    ActionUpdate,
    Message,
    ResearchRequest,
    ResearchResponse,
    parse_message,
)

if TYPE_CHECKING:
    from agency_client.hub_client import HubClient

__all__ = [
    "RESEARCH_FIELDS",
    "HubEncryptionKey",
    "action_update",
    "fetch_hub_key",
    "hub_key_from",
    "research_response",
    "send_to_hub",
]

RESEARCH_FIELDS: Final = frozenset({"nothing_known", "items", "withheld"})
M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class HubEncryptionKey:
    """The hub's id (an envelope's ``to``) and the encryption key it announced."""

    hub_id: str
    key: EncryptionPublicKey


def hub_key_from(
    info: Mapping[str, Any], pinned: IdentityPublicKey, now: datetime
) -> HubEncryptionKey:
    """The encryption key in a ``GET /api/v1/hub`` answer, verified against ``pinned``."""
    published = info.get("encryption")
    if not isinstance(published, dict) or "announcement" not in published:
        raise ProtocolError("the hub publishes no encryption key", code="malformed")
    signed = SignedKeyAnnouncement.from_json(published["announcement"])
    key = verify_announcement(signed, identity=pinned, now=now)
    hub_id = signed.announcement.party
    if (published.get("fingerprint"), published.get("suite"), info.get("hub_id")) != (
        key.fingerprint,
        key.suite,
        hub_id,
    ):
        raise CryptoError(
            "the hub's published encryption key differs from the one it signed",
            code="bad-signature",
        )
    return HubEncryptionKey(hub_id, key)


async def fetch_hub_key(client: HubClient, pinned: IdentityPublicKey) -> HubEncryptionKey:
    """Fetch the hub's encryption key; accept it only if the pinned hub key signed it."""
    return hub_key_from(await client.request("GET", "/hub"), pinned, client.clock())


async def send_to_hub(
    client: HubClient, message: ResearchResponse | ActionUpdate, hub_key: HubEncryptionKey
) -> dict[str, Any]:
    """Seal ``message`` to the hub and post it; the hub's answer (``envelope_id``, ...)."""
    envelope = seal(
        message,
        sender=client.identity,
        sender_id=client.agency_id,
        recipient_id=hub_key.hub_id,
        recipient_key=hub_key.key,
        now=client.clock(),
        case_ref=message.case_ref,
    )
    answer = await client.request(
        "POST", "/messages", {"envelope": envelope.to_json()}, signed=True
    )
    if answer.get("envelope_id") != envelope.header.id:
        raise ProtocolError("the hub confirmed another envelope than was sent")
    return answer


def research_response(
    store: Store,
    case_ref: str,
    answer: Mapping[str, Any],
    *,
    agency_id: str,
    now: datetime,
) -> ResearchResponse:
    """A response to the newest research request stored for ``case_ref``.

    ``answer`` holds only ``nothing_known``, ``items`` and ``withheld`` (as in the file
    ``agency-client research`` reads); the request id, case and agency come from the store.
    """
    unknown = set(answer) - RESEARCH_FIELDS
    if unknown:
        raise ProtocolError(
            f"unknown field(s) {', '.join(sorted(unknown))[:200]}: "
            f"give only {', '.join(sorted(RESEARCH_FIELDS))}",
            code="unknown-field",
        )
    if "nothing_known" not in answer:
        raise ProtocolError("nothing_known is required (true or false)", code="missing-field")
    if not isinstance(answer["nothing_known"], bool):
        raise ProtocolError("nothing_known must be true or false", code="wrong-type")
    request = _newest_request(store, case_ref)
    message = parse_message(
        ResearchResponse.message_type,
        {
            **answer,
            "request_id": request.request_id,
            "case_ref": request.case_ref,
            "agency_id": agency_id,
            "responded_at": now,
        },
    )
    assert isinstance(message, ResearchResponse)
    return message


def action_update(
    store: Store,
    action_id: str,
    *,
    status: str,
    now: datetime,
    note: str | None = None,
    reason: str | None = None,
) -> ActionUpdate:
    """An update on the action ``action_id``, whose notice is in the store."""
    notice = _action_notice(store, action_id)
    fields: dict[str, Any] = {
        "action_id": notice.action.action_id,
        "case_ref": notice.action.case_ref,
        "status": status,
        "updated_at": now,
    }
    fields.update({k: v for k, v in (("note", note), ("reason", reason)) if v is not None})
    message = parse_message(ActionUpdate.message_type, fields)
    assert isinstance(message, ActionUpdate)
    return message


def _newest_request(store: Store, case_ref: str) -> ResearchRequest:
    found: list[tuple[str, str, ResearchRequest]] = []
    for info in store.messages():
        if info.type != ResearchRequest.message_type:
            continue
        request = _stored(store, info.envelope_id, ResearchRequest)
        if request.case_ref == case_ref:
            found.append((info.sent_at, info.envelope_id, request))
    if not found:
        raise StoreError(f"no research request for case {case_ref} is stored", code="unknown-case")
    return max(found, key=lambda item: (item[0], item[1]))[2]


def _action_notice(store: Store, action_id: str) -> ActionNotice:
    for info in reversed(store.messages()):
        if info.type != ActionNotice.message_type:
            continue
        notice = _stored(store, info.envelope_id, ActionNotice)
        if notice.action.action_id == action_id:
            return notice
    raise StoreError(f"no notice of action {action_id} is stored", code="unknown-action")


def _stored(store: Store, envelope_id: str, kind: type[M]) -> M:
    """A stored message as its type; one in another format (FHIR, POLE) is refused."""
    payload = store.message(envelope_id).payload
    try:
        message = parse_message(kind.message_type, payload)
    except HubError:
        raise StoreError(
            f"stored {kind.message_type} {envelope_id} is not in the json format",
            code="unreadable-message",
        ) from None
    assert isinstance(message, kind)
    return message
