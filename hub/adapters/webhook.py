"""``webhook``: an HTTPS POST of the sealed envelope to the agency's URL, signed by the hub.

Settings (``marac-hub agency set-delivery ID --transport webhook --transport-config FILE``)::

    {"url": "https://gateway.police.example/marac", "ca_file": "gateway-ca.pem",
     "timeout": 10, "allow_http": false}

The POST's body is the envelope's wire bytes (``application/json``); the hub signs it as
agencies sign their requests (``X-Marac-*`` headers, with the hub's id and key). A 2xx
answer is a delivery; a JSON body ``{"receipt": …, "signature": …}`` is the agency's
signed receipt, which the hub stores as if it came through the mailbox. 413 is a refusal
for good; any other answer, a time-out or a failed connection is retried, after the
``Retry-After`` the receiver gave, if any. TLS verifies the certificate and host name
(the system's CAs, ``ca_file`` in the hub's ``delivery_ca_dir``, or ``ca_pem`` inline);
plain ``http://`` only with ``allow_http: true``. Only public addresses are reached unless
the hub's operator allows a network (``delivery_allow_networks``), checked when the
settings are chosen and again on each connection (:mod:`hub.adapters.destinations`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Final, Literal
from urllib.parse import urlsplit

import aiohttp

from hub.adapters import _config
from hub.adapters.destinations import CheckedResolver, Destinations, RefusedAddress
from hub.adapters.transport import (
    Delivered,
    DeliveryFailed,
    Outgoing,
    PayloadTooLarge,
    check_keys,
    refuse_oversized,
)
from hub.protocol.envelope import MAX_ENVELOPE_BYTES
from hub.protocol.errors import ProtocolError

__all__ = ["WebhookTransport", "parse_retry_after"]

MAX_ANSWER_BYTES: Final = 64 * 1024
MAX_RETRY_AFTER: Final = 24 * 3600.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent
    or unreadable; capped at a day, never negative."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), MAX_RETRY_AFTER)


class WebhookTransport:
    """POST each envelope to the agency's HTTPS endpoint."""

    name: ClassVar[str] = "webhook"
    kind: ClassVar[Literal["transport"]] = "transport"
    push: ClassVar[bool] = True
    max_bytes: int = MAX_ENVELOPE_BYTES

    def __init__(self, destinations: Destinations | None = None) -> None:
        self.destinations = destinations or Destinations()

    def with_destinations(self, destinations: Destinations) -> WebhookTransport:
        """This transport limited to ``destinations`` (the hub's operator settings)."""
        return WebhookTransport(destinations)

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``url`` (https, or http with ``allow_http``; an address the hub may reach),
        optional ``ca_file`` or ``ca_pem``, ``timeout``."""
        check_keys(config, {"url"}, {"ca_file", "ca_pem", "timeout", "allow_http"}, self.name)
        url = _config.text(config, "url", limit=2000)
        allow_http = _config.flag(config, "allow_http")
        parts = urlsplit(url)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ProtocolError("url must be an https:// URL", code="bad-config")
        if parts.scheme == "http" and not allow_http:
            raise ProtocolError(
                "url must be https:// (plain http needs allow_http: true)", code="bad-config"
            )
        if parts.username or parts.password:
            raise ProtocolError("url must not hold credentials", code="bad-config")
        self.destinations.check_host(parts.hostname)
        checked: dict[str, Any] = {
            "url": url,
            "timeout": _config.number(config, "timeout", default=10.0, low=0.1, high=300.0),
            "allow_http": allow_http,
        }
        return checked | self.destinations.trust(config)

    async def deliver(self, outgoing: Outgoing, config: Mapping[str, Any]) -> Delivered:
        """POST the envelope once, only to an address the hub may reach; the receiver's
        receipt, if it sent one."""
        refuse_oversized(outgoing, self.max_bytes)
        try:
            settings = self.check_config(config)
            parts = urlsplit(settings["url"])
            ssl_context = (
                self.destinations.tls_context(settings) if parts.scheme == "https" else False
            )
        except ProtocolError as exc:
            raise DeliveryFailed(f"the webhook settings are refused: {exc.message}") from None
        url = settings["url"]
        headers = {"Content-Type": "application/json", "X-Marac-Envelope": outgoing.envelope_id}
        if outgoing.sign is not None:
            headers.update(outgoing.sign("POST", parts.path or "/", parts.query, outgoing.envelope))
        timeout = aiohttp.ClientTimeout(total=settings["timeout"])
        connector = aiohttp.TCPConnector(
            resolver=CheckedResolver(self.destinations), use_dns_cache=False
        )
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, connector=connector) as http,
                http.post(
                    url,
                    data=io.BytesIO(outgoing.envelope),
                    headers=headers,
                    ssl=ssl_context,
                    allow_redirects=False,
                ) as answer,
            ):
                body = await answer.content.read(MAX_ANSWER_BYTES)
                return _outcome(answer.status, answer.headers, body)
        except TimeoutError:
            raise DeliveryFailed("the receiver did not answer in time") from None
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                raise DeliveryFailed(f"refused: {exc.os_error}") from None
            raise DeliveryFailed("could not resolve the receiver's host") from None
        except aiohttp.ClientError as exc:
            raise DeliveryFailed(f"could not reach the receiver ({type(exc).__name__})") from None


def _outcome(status: int, headers: Mapping[str, str], body: bytes) -> Delivered:
    if status == 413:
        raise PayloadTooLarge("the receiver refused the envelope as too large (HTTP 413)")
    if not 200 <= status < 300:
        raise DeliveryFailed(
            f"the receiver answered HTTP {status}",
            retry_after=parse_retry_after(headers.get("Retry-After")),
        )
    return Delivered(f"HTTP {status}", _receipt(body))


def _receipt(body: bytes) -> Mapping[str, Any] | None:
    """The signed receipt in a 2xx answer, if it holds one (checked by the hub, not here)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(doc, dict) and set(doc) == {"receipt", "signature"}:
        return doc
    return None
