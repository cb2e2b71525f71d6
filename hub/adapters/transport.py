"""The transport interface: how a sealed envelope reaches an agency.

A transport carries only sealed envelopes (the wire bytes of :class:`hub.protocol.Envelope`):
the payload was rendered and sealed inside the hub, so nothing a transport sees or sends
is plaintext. The hub's dispatcher (:mod:`hub.delivery.push`) decides *when* to send,
retries and dead-letters; a transport only makes one attempt per call::

    class MyTransport:
        name = "folder-drop"
        kind = "transport"
        push = True                      # the hub sends; False: the agency fetches
        max_bytes = 8 * 1024 * 1024      # larger envelopes are refused, never cut

        def check_config(self, config):  # validate the agency's settings
            ...
            return {"folder": "/srv/drop"}

        async def deliver(self, outgoing, config):
            ...                          # one attempt; raise DeliveryFailed to retry
            return Delivered("written")

Register the class under the ``marac_hub.adapters`` entry-point group and prove it with
:mod:`hub.adapters.testing`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from hub.protocol.errors import DeliveryError, ProtocolError

__all__ = [
    "Delivered",
    "DeliveryFailed",
    "Outgoing",
    "PayloadTooLarge",
    "Signer",
    "Transport",
    "check_keys",
    "refuse_oversized",
]

Signer = Callable[[str, str, str, bytes], Mapping[str, str]]
"""``sign(method, path, query, body) -> headers``: the hub's signature over an HTTP request
(see :mod:`hub.crypto.request_signing`); a transport that makes HTTP requests adds them."""


class DeliveryFailed(DeliveryError):
    """One attempt failed. The dispatcher retries unless ``permanent``.

    ``retry_after`` is how many seconds the receiver asked us to wait (``Retry-After``),
    if it said. The message must hold no personal data (it is logged).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.permanent = permanent


class PayloadTooLarge(DeliveryFailed):
    """The envelope is larger than the transport (or the receiver) accepts: never retried."""

    default_code = "payload-too-large"
    status = 413

    def __init__(self, message: str = "envelope is larger than this transport accepts") -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One sealed envelope on its way to one agency."""

    envelope_id: str
    agency_id: str
    envelope: bytes  # the envelope's canonical wire bytes (JSON), sealed
    sign: Signer | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Delivered:
    """A successful attempt: a short ``detail`` (no personal data) and, when the receiver
    answered with one, its signed receipt (``{"receipt": …, "signature": …}``)."""

    detail: str
    receipt: Mapping[str, Any] | None = None


@runtime_checkable
class Transport(Protocol):
    """How a sealed envelope reaches an agency."""

    name: str
    kind: Literal["transport"]
    push: bool
    """True if the hub sends (:meth:`deliver`); False if the agency fetches (mailbox)."""
    max_bytes: int
    """The largest envelope this transport carries; larger ones are refused."""

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The agency's settings, checked and normalised; ``ProtocolError`` (one line) if bad."""
        ...

    async def deliver(self, outgoing: Outgoing, config: Mapping[str, Any]) -> Delivered:
        """Make one attempt; raise :class:`DeliveryFailed` (or :class:`PayloadTooLarge`)."""
        ...


def refuse_oversized(outgoing: Outgoing, max_bytes: int) -> None:
    """Raise :class:`PayloadTooLarge` if the envelope is larger than ``max_bytes``."""
    if len(outgoing.envelope) > max_bytes:
        raise PayloadTooLarge(
            f"envelope {outgoing.envelope_id} is {len(outgoing.envelope)} bytes; "
            f"this transport carries at most {max_bytes}"
        )


def check_keys(
    config: Mapping[str, Any], required: set[str], optional: set[str], transport: str
) -> None:
    """Refuse a config that is not an object, lacks ``required`` or has unknown keys."""
    if not isinstance(config, Mapping):
        raise ProtocolError(f"{transport} settings must be a JSON object", code="bad-config")
    missing = sorted(required - set(config))
    if missing:
        raise ProtocolError(f"{transport} settings need {', '.join(missing)}", code="bad-config")
    unknown = sorted(set(config) - required - optional)
    if unknown:
        raise ProtocolError(
            f"{transport} settings do not take {', '.join(unknown)[:200]}", code="bad-config"
        )
