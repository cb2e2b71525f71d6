"""A per-address rate limit on what anyone may try without signing in: sign-in, agency
enrolment, the start of single sign-on.

Each client address has a token bucket (``anonymous_burst`` tries at once, refilled at
``anonymous_rate_per_minute``); an empty bucket is answered 429 with ``Retry-After``
(problem+json under ``/api/``, a short HTML page elsewhere) before the body is read or a
password hash is computed. The buckets are an LRU of at most ``MAX_ADDRESSES``: a flood of
spoofed sources costs bounded memory (the least recently seen address is forgotten, and
starts again with a full bucket).

Behind a reverse proxy, set ``trusted_proxies`` to the proxy's addresses: only a request
from one of them has its client taken from ``X-Forwarded-For`` (the right-most address
not itself a trusted proxy); from anyone else the header is ignored.

Which requests are limited is a list of :class:`Limited` (method and path prefix) in
``app[RATE_LIMITED]``; :data:`ANONYMOUS` is the default. Another door adds its own with
``limit_anonymous(app, "/my/route", "POST")`` before the application starts.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.http.appkeys import SETTINGS
from hub.protocol.errors import PROBLEM_BASE, PROBLEM_CONTENT_TYPE

__all__ = [
    "ANONYMOUS",
    "MAX_ADDRESSES",
    "RATE_LIMITED",
    "Limited",
    "TokenBuckets",
    "client_address",
    "limit_anonymous",
    "rate_limit_middleware",
    "setup_rate_limits",
]

log = logging.getLogger("hub.http")
MAX_ADDRESSES: Final = 10_000
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Limited:
    """Requests with one of ``methods`` to ``prefix`` or a path below it."""

    methods: frozenset[str]
    prefix: str

    def covers(self, method: str, path: str) -> bool:
        """True if the request ``method path`` is limited by this rule."""
        if method not in self.methods:
            return False
        base = self.prefix.rstrip("/")
        return path == base or path.startswith(base + "/")


ANONYMOUS: Final = (
    Limited(frozenset({"POST"}), "/login"),  # passwords and second factors
    Limited(frozenset({"POST"}), "/api/v1/enrol"),  # agency enrolment codes
    Limited(frozenset({"GET", "POST"}), "/sso"),  # the start of single sign-on
)


class TokenBuckets:
    """Token buckets by key, ``burst`` deep, refilled at ``rate`` a second; an LRU of at
    most ``max_keys`` keys."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate, self._burst, self._max, self._clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 if there was one, else the seconds until there
        will be."""
        now = self._clock()
        tokens, at = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self._rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait


def _networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: web.Request, proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or, if the peer is a trusted proxy, the
    right-most ``X-Forwarded-For`` address that is not itself a trusted proxy."""
    peer = request.remote or "unknown"
    if not proxies or not _within(peer, proxies):
        return peer
    hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    for hop in reversed(hops):
        if not _within(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a hop that is no address: the proxy's own view is all we know
    return peer


RATE_LIMITED = web.AppKey("rate_limited", list[Limited])
_BUCKETS = web.AppKey("rate_buckets", TokenBuckets)
_PROXIES = web.AppKey("trusted_proxies", tuple)


def setup_rate_limits(app: web.Application) -> None:
    """Limit :data:`ANONYMOUS` per address, as the settings say (install
    :func:`rate_limit_middleware` too)."""
    settings = app[SETTINGS]
    app[RATE_LIMITED] = list(ANONYMOUS)
    app[_BUCKETS] = TokenBuckets(
        settings.anonymous_rate_per_minute / 60.0, float(settings.anonymous_burst)
    )
    app[_PROXIES] = _networks(settings.trusted_proxies)


def limit_anonymous(app: web.Application, prefix: str, *methods: str) -> None:
    """Limit ``methods`` (default POST) to ``prefix`` and below per address as well."""
    app[RATE_LIMITED].append(Limited(frozenset(methods or ("POST",)), prefix))


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 429 to an address that has used up its tries on a limited route."""
    app = request.app
    rules = app.get(RATE_LIMITED, ())
    if not any(rule.covers(request.method, request.path) for rule in rules):
        return await handler(request)
    wait = app[_BUCKETS].take(client_address(request, app[_PROXIES]))
    if wait <= 0:
        return await handler(request)
    log.info("%s %s -> rate limited", request.method, request.path)
    return _too_many(request.path, math.ceil(wait))


def _too_many(path: str, retry_after: int) -> web.Response:
    headers = {"Retry-After": str(retry_after)}
    if path.startswith("/api/"):
        doc = {
            "type": PROBLEM_BASE + "too-many-requests",
            "title": "Too many requests",
            "status": 429,
            "detail": f"too many tries from this address; try again in {retry_after} s",
            "instance": path,
        }
        return web.Response(
            status=429, text=json.dumps(doc), content_type=PROBLEM_CONTENT_TYPE, headers=headers
        )
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Too many tries</title>"
        "<h1>Too many tries</h1><p>Too many tries from your address. "
        f"Wait {retry_after} seconds, then try again.</p></html>"
    )
    return web.Response(status=429, text=page, content_type="text/html", headers=headers)
