"""The agency's end of the ``webhook`` transport: an HTTP(S) endpoint the hub POSTs to.

For each POST: check the hub's signature (``X-Marac-*`` headers, made with the hub's
identity key pinned at enrolment) over method, path, query, time, nonce and body; refuse
a replayed nonce or a request outside the 5-minute window; open the envelope with the
private key its header names; store it (encrypted, as ``run`` does); answer with a
signed receipt ``{"receipt": …, "signature": …}``, which the hub stores exactly like a
mailbox receipt; then hand it to the sink. An envelope sent again is not stored again:
its receipt is simply signed once more. Refusals are problem+json and name no content.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web

from agency_client.hub_client import Clock, utc_now
from agency_client.rotation import KeyRotation
from agency_client.store import Store
from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.crypto.receipts import sign_receipt
from hub.crypto.request_signing import WINDOW, verify_request
from hub.crypto.sealing import open_envelope
from hub.protocol.envelope import MAX_ENVELOPE_BYTES, parse_envelope, parse_timestamp
from hub.protocol.errors import (
    PROBLEM_CONTENT_TYPE,
    CryptoError,
    HubError,
    InvalidEnvelope,
    ProtocolError,
    problem,
)
from hub.protocol.messages import Receipt

__all__ = ["WebhookReceiver"]

log = logging.getLogger(__name__)


def _problem(error: HubError) -> web.Response:
    doc = problem(error)
    return web.Response(
        status=doc["status"], text=json.dumps(doc), content_type=PROBLEM_CONTENT_TYPE
    )


class WebhookReceiver:
    """Verifies, opens, stores and acknowledges what the hub POSTs."""

    def __init__(
        self,
        agency_id: str,
        identity: IdentityKeyPair,
        store: Store,
        rotation: KeyRotation,
        hub_key: IdentityPublicKey,
        *,
        hand_over: Callable[[], Awaitable[object]] | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.agency_id = agency_id
        self.identity = identity
        self.store = store
        self.rotation = rotation
        self.hub_key = hub_key
        self.hand_over = hand_over
        self.clock = clock
        self._nonces: dict[str, datetime] = {}
        self._handing: asyncio.Task[None] | None = None
        self._again = False

    def app(self, path: str = "/") -> web.Application:
        """An aiohttp application serving the endpoint at ``path``."""
        app = web.Application(client_max_size=MAX_ENVELOPE_BYTES + 1024)
        app.router.add_post(path, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        """One POST from the hub."""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _problem(ProtocolError("envelope too large", code="payload-too-large"))
        try:
            answer = await self._receive(request, body)
        except HubError as exc:
            log.warning("refused a delivery: %s", exc.code)
            return _problem(exc)
        self._hand_over_soon()
        return web.json_response(answer)

    async def _receive(self, request: web.Request, body: bytes) -> dict[str, object]:
        now = self.clock()
        verified = verify_request(
            self.hub_key,
            request.headers,
            request.method,
            request.path,
            request.query_string,
            body,
            now=now,
        )
        self._remember(verified.nonce, now)
        envelope = parse_envelope(body)
        header = envelope.header
        if header.recipient != self.agency_id:
            raise ProtocolError("envelope is for another agency", code="wrong-recipient")
        digest = envelope.digest()
        known = await asyncio.to_thread(self.store.info, header.id)
        if known is not None:
            if known.envelope_sha256 != digest:
                raise HubError("another envelope came under this id", code="duplicate-envelope")
            received_at = parse_timestamp(known.received_at, field="received_at")
        else:
            key = await self.rotation.key_for(header.recipient_key)
            if key is None:
                raise InvalidEnvelope()
            opened = open_envelope(envelope, recipient=key, sender=self.hub_key)
            if opened.header.recipient != self.agency_id:
                raise InvalidEnvelope()
            await asyncio.to_thread(self.store.add, opened, digest, now)
            received_at = now
            log.info("received envelope %s", header.id)
        receipt = Receipt(
            envelope_id=header.id,
            envelope_sha256=digest,
            agency_id=self.agency_id,
            received_at=received_at,
        )
        await asyncio.to_thread(self.store.mark_acknowledged, [header.id], now)
        return sign_receipt(self.identity, receipt)

    def _remember(self, nonce: str, now: datetime) -> None:
        """Refuse a nonce seen within the window (older ones fail the time check)."""
        for old in [n for n, seen in self._nonces.items() if now - seen > 2 * WINDOW]:
            del self._nonces[old]
        if nonce in self._nonces:
            raise CryptoError("this request was already made", code="replayed-request")
        self._nonces[nonce] = now

    def _hand_over_soon(self) -> None:
        """Hand stored messages to the sink in the background, one pass at a time."""
        if self.hand_over is None:
            return
        if self._handing is not None and not self._handing.done():
            self._again = True
            return
        self._handing = asyncio.create_task(self._hand_loop())

    async def _hand_loop(self) -> None:
        assert self.hand_over is not None
        while True:
            self._again = False
            try:
                await self.hand_over()
            except Exception:
                log.exception("handing over to the sink failed; will retry")
            if not self._again:
                return

    async def drain(self) -> None:
        """Wait for the hand-over in progress (tests and shutdown)."""
        if self._handing is not None:
            await self._handing
