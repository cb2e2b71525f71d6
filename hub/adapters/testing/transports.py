"""Conformance tests for transports: delivery, retry, idempotency, no plaintext on the
wire, refusal of oversized payloads, and settings that refuse nonsense.

A transport passes when every test of :class:`TransportConformance` passes against a
real receiver. Pull transports (``push = False``) run only the tests that apply to them.
"""

from __future__ import annotations

import base64
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from ulid import ULID

from hub.adapters.transport import (
    DeliveryFailed,
    Outgoing,
    PayloadTooLarge,
    Signer,
    Transport,
)
from hub.protocol.canonical import canonical_json
from hub.protocol.envelope import (
    SUITE_X25519,
    Envelope,
    Header,
    format_timestamp,
    parse_envelope,
)
from hub.protocol.errors import ProtocolError

__all__ = ["CANARY", "Harness", "PullHarness", "TransportConformance", "fake_envelope"]

CANARY = "Canary Quennell-Ashdown, born 1984-02-29, 12 Plaintext Row"
"""Personal data that must never be seen on the wire."""


def fake_envelope(plaintext: bytes, *, agency_id: str = "conformance-agency") -> Envelope:
    """A well-formed envelope whose ciphertext is ``plaintext`` under a random key.

    Not openable by anyone: enough to test a transport, which never opens envelopes.
    """
    header = Header(
        id=str(ULID()),
        type="notice",
        sender="hub",
        recipient=agency_id,
        sent_at=format_timestamp(datetime.now(UTC)),
        case_ref=None,
        sender_key="0" * 64,
        recipient_key="1" * 64,
        suite=SUITE_X25519,
    )
    nonce = os.urandom(12)
    aead = ChaCha20Poly1305(ChaCha20Poly1305.generate_key())
    return Envelope(header, nonce + aead.encrypt(nonce, plaintext, header.canonical()))


class Harness(ABC):
    """A transport, settings that point it at a real receiver, and what the receiver saw.

    Subclass and implement what your receiver can do (a pull transport, which sends to
    no receiver, uses :class:`PullHarness`). ``received`` is what the agency got
    (each envelope's bytes, in arrival order, accepted deliveries only); ``wire`` is every
    byte the receiver saw (headers, bodies, mail text). ``fail_next`` makes the receiver
    refuse the next ``times`` deliveries as a temporary failure, asking for
    ``retry_after`` seconds if given.
    """

    supports_retry_after = True
    agency_id = "conformance-agency"

    def __init__(self, transport: Transport, config: Mapping[str, Any]) -> None:
        self.transport = transport
        self.config = config

    @abstractmethod
    def fail_next(self, times: int, *, retry_after: float | None = None) -> None:
        """Make the receiver refuse the next ``times`` deliveries (temporarily)."""

    @abstractmethod
    def received(self) -> list[bytes]:
        """The envelopes the receiver accepted, in order."""

    @abstractmethod
    def wire(self) -> bytes:
        """Everything the receiver saw."""

    def signer(self) -> Signer | None:
        """What the hub would sign requests with (None: no signing)."""
        return None

    def seal(self, plaintext: bytes) -> Envelope:
        """An envelope for this harness's agency holding ``plaintext`` (override to seal
        for real)."""
        return fake_envelope(plaintext, agency_id=self.agency_id)

    def outgoing(self, plaintext: bytes = b'{"text": "a notice"}') -> Outgoing:
        """One envelope ready for :meth:`Transport.deliver`."""
        envelope = self.seal(plaintext)
        return Outgoing(envelope.header.id, self.agency_id, envelope.to_bytes(), self.signer())


class PullHarness(Harness):
    """The harness of a pull transport (``push`` is False): the agency fetches, so no
    receiver is sent anything; the kit skips the tests about receivers."""

    def fail_next(self, times: int, *, retry_after: float | None = None) -> None:
        """A pull transport has no receiver to make fail."""
        raise TypeError(f"{self.transport.name} is a pull transport: it has no receiver")

    def received(self) -> list[bytes]:
        """Nothing is sent to a receiver."""
        return []

    def wire(self) -> bytes:
        """Nothing crosses a wire to a receiver."""
        return b""


def _push_only(harness: Harness) -> None:
    if not harness.transport.push:
        pytest.skip("a pull transport: the agency fetches, nothing is sent")


def _ids(received: list[bytes]) -> list[str]:
    """Envelope ids in received bytes (each must parse as an envelope)."""
    return [parse_envelope(item).header.id for item in received]


@pytest.mark.asyncio
class TransportConformance:
    """The tests. Provide a ``harness`` fixture yielding a :class:`Harness`."""

    async def test_declares_itself(self, harness: Harness) -> None:
        """A named transport with a positive size limit that implements the Protocol."""
        transport = harness.transport
        assert isinstance(transport, Transport)
        assert transport.kind == "transport"
        assert isinstance(transport.name, str) and transport.name
        assert isinstance(transport.push, bool)
        assert isinstance(transport.max_bytes, int) and transport.max_bytes > 0

    async def test_settings_are_checked(self, harness: Harness) -> None:
        """Good settings normalise to themselves; nonsense is refused with one line."""
        checked = harness.transport.check_config(harness.config)
        assert harness.transport.check_config(checked) == checked
        bad_settings: list[Any] = [{**checked, "no-such-setting": 1}, []]
        for bad in bad_settings:
            with pytest.raises(ProtocolError) as caught:
                harness.transport.check_config(bad)
            assert "\n" not in caught.value.message

    async def test_refuses_oversized(self, harness: Harness) -> None:
        """An envelope over ``max_bytes`` is refused for good, and nothing arrives."""
        real = harness.outgoing()
        padding = harness.transport.max_bytes + 1 - len(real.envelope)
        big = Outgoing(real.envelope_id, real.agency_id, real.envelope + b" " * padding, real.sign)
        with pytest.raises(PayloadTooLarge) as caught:
            await harness.transport.deliver(big, harness.config)
        assert caught.value.permanent
        if harness.transport.push:
            assert harness.received() == []

    async def test_delivers_intact(self, harness: Harness) -> None:
        """One delivery: the agency gets exactly the sealed bytes."""
        _push_only(harness)
        outgoing = harness.outgoing()
        delivered = await harness.transport.deliver(outgoing, harness.config)
        assert isinstance(delivered.detail, str)
        assert harness.received() == [outgoing.envelope]

    async def test_delivers_in_order(self, harness: Harness) -> None:
        """Envelopes delivered one after another arrive in that order."""
        _push_only(harness)
        sent = [harness.outgoing(f'{{"n": {n}}}'.encode()) for n in range(3)]
        for outgoing in sent:
            await harness.transport.deliver(outgoing, harness.config)
        assert harness.received() == [o.envelope for o in sent]

    async def test_failure_is_retryable(self, harness: Harness) -> None:
        """A receiver's temporary failure raises a retryable error; the retry delivers once."""
        _push_only(harness)
        outgoing = harness.outgoing()
        harness.fail_next(1)
        with pytest.raises(DeliveryFailed) as caught:
            await harness.transport.deliver(outgoing, harness.config)
        assert not caught.value.permanent
        assert harness.received() == []
        await harness.transport.deliver(outgoing, harness.config)
        assert harness.received() == [outgoing.envelope]

    async def test_retry_after_is_reported(self, harness: Harness) -> None:
        """The wait a receiver asks for reaches the dispatcher."""
        _push_only(harness)
        if not harness.supports_retry_after:
            pytest.skip("this transport's receivers cannot ask for a wait")
        harness.fail_next(1, retry_after=7)
        with pytest.raises(DeliveryFailed) as caught:
            await harness.transport.deliver(harness.outgoing(), harness.config)
        assert caught.value.retry_after == pytest.approx(7, abs=1)

    async def test_idempotent(self, harness: Harness) -> None:
        """Sending one envelope twice (a lost answer) is harmless: the same bytes, one id."""
        _push_only(harness)
        outgoing = harness.outgoing()
        await harness.transport.deliver(outgoing, harness.config)
        await harness.transport.deliver(outgoing, harness.config)
        received = harness.received()
        assert set(received) == {outgoing.envelope}
        assert set(_ids(received)) == {outgoing.envelope_id}

    async def test_no_plaintext_on_the_wire(self, harness: Harness) -> None:
        """Personal data sealed in the envelope appears nowhere in what crossed the wire."""
        _push_only(harness)
        plaintext = canonical_json({"victim": {"name": CANARY}})
        outgoing = harness.outgoing(plaintext)
        await harness.transport.deliver(outgoing, harness.config)
        wire = harness.wire()
        assert outgoing.envelope_id.encode() in wire  # the capture saw the delivery
        for form in (CANARY.encode(), plaintext, base64.b64encode(CANARY.encode())):
            assert form not in wire
        for word in ("Quennell", "Plaintext Row", "1984-02-29"):
            assert word.encode() not in wire
