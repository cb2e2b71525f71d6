"""Send a research response or an action update built from the store, sealed to the hub.

``agency-client research``, ``agency-client action update`` and the workspace all send
through :func:`send_built`: the message is built from what the store holds (the newest
research request of a case, an action's notice), sealed to the encryption key the hub
announced under its pinned identity, posted with a signed request, and a copy of what was
sent is kept, sealed, in the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from agency_client.cli._common import connection_options
from agency_client.outbound import fetch_hub_key, send_to_hub
from agency_client.store import Store, StoreError
from hub.crypto.keys import IdentityKeyPair
from hub.protocol.messages import ActionUpdate, ResearchResponse, payload_of

__all__ = ["send_built"]

M = TypeVar("M", ResearchResponse, ActionUpdate)


async def send_built(
    identity: IdentityKeyPair, store: Store, build: Callable[[Store, str, datetime], M]
) -> tuple[M, dict[str, Any]]:
    """``build(store, agency_id, now)``, send it to the hub; the message and the hub's answer."""
    from agency_client.hub_client import HubClient  # noqa: PLC0415 - aiohttp only when needed

    agency_id = store.require_config("agency_id")
    pinned = store.hub_key()
    if pinned is None:
        raise StoreError(
            f"{store.path.parent} has no pinned hub key: run 'agency-client enrol' first"
        )
    message = build(store, agency_id, datetime.now(UTC))
    async with HubClient(
        store.require_config("hub_url"), agency_id, identity, **connection_options(store)
    ) as client:
        hub_key = await fetch_hub_key(client, pinned)
        answer = await send_to_hub(client, message, hub_key)
    answers = message.request_id if isinstance(message, ResearchResponse) else message.action_id
    store.record_sent(
        str(answer["envelope_id"]),
        message.message_type,
        message.case_ref,
        answers,
        payload_of(message),
        datetime.now(UTC),
    )
    return message, answer
