"""``HubClient``: the agency's side of the hub's HTTP API (docs/api.md), over aiohttp.

Every mailbox, receipt and key request is signed with the agency's identity key
(:func:`hub.crypto.request_signing.sign_request`); enrolment and the hub's public
information are not. A non-2xx answer raises :class:`HubResponseError`, built from
the problem+json document (``code`` is the last path segment of its ``type``); a
connection failure or timeout raises :class:`HubUnavailable`.

TLS uses the system's trust store (or a CA bundle), verifies certificates and host
names and refuses anything older than TLS 1.2. Plain ``http://`` is refused except to
a loopback address, unless explicitly allowed.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from agency_client.transparency.wire import (
    Inclusion,
    KeyEntries,
    parse_consistency,
    parse_head,
    parse_inclusion,
    parse_key_entries,
)
from hub.crypto.announce import DEFAULT_VALIDITY, announce_key
from hub.crypto.keys import EncryptionPublicKey, IdentityKeyPair, IdentityPublicKey
from hub.crypto.receipts import sign_receipt
from hub.crypto.request_signing import sign_request
from hub.crypto.tree_head import SignedTreeHead
from hub.protocol.canonical import b64decode, canonical_json
from hub.protocol.envelope import Envelope, loads_strict, parse_envelope
from hub.protocol.errors import CryptoError, HubError, ProtocolError
from hub.protocol.messages import Receipt

__all__ = [
    "AckResult",
    "Clock",
    "Enrolment",
    "HubClient",
    "HubInfo",
    "HubResponseError",
    "HubUnavailable",
    "check_hub_url",
    "enrolment_agency",
    "is_transient",
    "tls_context",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
API: Final = "/api/v1"
MAX_RESPONSE_BYTES: Final = 256 * 1024 * 1024
REQUEST_TIMEOUT: Final = 60.0
POLL_MARGIN: Final = 30.0
_MAX_DETAIL: Final = 300


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class HubResponseError(HubError):
    """The hub answered with an error (a problem+json document)."""

    default_code = "hub-refused"

    def __init__(self, message: str, *, code: str, http_status: int) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status

    @property
    def retryable(self) -> bool:
        """True for answers that may succeed later unchanged (5xx, 408, 429)."""
        return self.http_status >= 500 or self.http_status in {408, 429}


class HubUnavailable(HubError):
    """The hub could not be reached, or did not answer in time."""

    default_code = "hub-unreachable"


def is_transient(error: HubError) -> bool:
    """True for failures worth retrying unchanged: no connection, 5xx, awaiting approval."""
    if isinstance(error, HubUnavailable):
        return True
    return isinstance(error, HubResponseError) and (
        error.retryable or error.code == "agency-not-approved"
    )


@dataclass(frozen=True, slots=True)
class HubInfo:
    """``GET /api/v1/hub``: the hub's identity key and version."""

    identity_key: IdentityPublicKey
    version: str

    @property
    def fingerprint(self) -> str:
        """The hub key's fingerprint, to compare out of band."""
        return self.identity_key.fingerprint


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What enrolment established: the agency id, its status and the hub's key."""

    agency_id: str
    status: str
    identity_fingerprint: str
    encryption_fingerprint: str
    hub_key: IdentityPublicKey


@dataclass(frozen=True, slots=True)
class AckResult:
    """``POST /api/v1/receipts``: ids newly acknowledged, and ids acknowledged before."""

    acknowledged: tuple[str, ...]
    already: tuple[str, ...]


def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """Certificate and host-name verification, TLS 1.2 at least, optional CA bundle."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check_hub_url(base_url: str, *, allow_http: bool = False) -> URL:
    """The hub's base URL, refused unless https (or http to loopback, or allowed)."""
    url = URL(base_url.rstrip("/"))
    if url.scheme not in {"http", "https"} or not url.host:
        raise ProtocolError(f"hub URL must be https://HOST[:PORT]: {base_url!r}", code="bad-url")
    if url.query_string or url.fragment:
        raise ProtocolError("hub URL must not have a query or fragment", code="bad-url")
    if url.scheme == "http" and not allow_http and not _is_loopback(url.host):
        raise ProtocolError(
            "refusing plain http:// to a remote hub; use https://", code="insecure-url"
        )
    return url


def enrolment_agency(code: str) -> str:
    """The agency id of an enrolment code ``<agency_id>:<secret>``."""
    agency_id, sep, secret = code.partition(":")
    if not sep or not agency_id or not secret:
        raise ProtocolError(
            "an enrolment code looks like <agency_id>:<secret>", code="bad-enrolment-code"
        )
    return agency_id


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HubClient:
    """An agency's connection to its hub. Use ``async with`` (or call :meth:`close`)."""

    def __init__(
        self,
        base_url: str,
        agency_id: str,
        identity: IdentityKeyPair,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utc_now,
        *,
        ca_bundle: Path | None = None,
        allow_http: bool = False,
    ) -> None:
        self.base_url = check_hub_url(base_url, allow_http=allow_http)
        self.agency_id = agency_id
        self.identity = identity
        self.clock = clock
        self._session = session
        self._owns_session = session is None
        self._proxy: str | None = None  # for a session of its own: see env_proxy
        self._ssl = tls_context(ca_bundle) if self.base_url.scheme == "https" else None

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if this client made it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # -- the API ------------------------------------------------------------------------

    async def fetch_hub_info(self) -> HubInfo:
        """The hub's identity key (``GET /api/v1/hub``)."""
        body = await self.request("GET", "/hub")
        return HubInfo(identity_key=_hub_key(body), version=str(body.get("version", "")))

    @classmethod
    async def enrol(
        cls,
        base_url: str,
        code: str,
        identity: IdentityKeyPair,
        encryption_key: EncryptionPublicKey,
        now: datetime,
        *,
        session: aiohttp.ClientSession | None = None,
        ca_bundle: Path | None = None,
        allow_http: bool = False,
        valid_for: timedelta = DEFAULT_VALIDITY,
    ) -> Enrolment:
        """Redeem an enrolment code ``<agency_id>:<secret>`` with a signed key announcement."""
        agency_id = enrolment_agency(code)
        announcement = announce_key(
            identity, agency_id, encryption_key, now=now, valid_for=valid_for
        )
        async with cls(
            base_url, agency_id, identity, session, ca_bundle=ca_bundle, allow_http=allow_http
        ) as client:
            body = await client.request(
                "POST", "/enrol", {"code": code, "announcement": announcement.to_json()}
            )
        enrolment = Enrolment(
            agency_id=str(body.get("agency_id")),
            status=str(body.get("status")),
            identity_fingerprint=str(body.get("identity_fingerprint")),
            encryption_fingerprint=str(body.get("encryption_fingerprint")),
            hub_key=_hub_key(body.get("hub")),
        )
        if (
            enrolment.agency_id,
            enrolment.identity_fingerprint,
            enrolment.encryption_fingerprint,
        ) != (
            agency_id,
            identity.fingerprint,
            encryption_key.fingerprint,
        ):
            raise CryptoError(
                "the hub confirmed another agency or other keys than were sent",
                code="enrolment-mismatch",
            )
        return enrolment

    async def poll(self, wait: float = 0, limit: int = 100, lease: float = 0) -> list[Envelope]:
        """Long-poll the mailbox: up to ``limit`` unacknowledged envelopes, oldest first.

        ``lease`` > 0 asks the hub not to hand these envelopes to any other poll for that
        many seconds (several workers of one agency, or several hub processes).

        An envelope that does not parse is logged (by position) and left out; it cannot
        be acknowledged, so the hub keeps it until it expires and alerts the coordinator.
        """
        seconds = max(0, min(60, int(wait)))
        query = f"wait={seconds}&limit={max(1, int(limit))}"
        if lease > 0:
            query += f"&lease={int(lease)}"
        body = await self.request(
            "GET", "/mailbox", query=query, signed=True, timeout=seconds + POLL_MARGIN
        )
        items = body.get("envelopes")
        if not isinstance(items, list):
            raise ProtocolError("mailbox answer has no envelope list", code="malformed")
        envelopes = []
        for index, item in enumerate(items):
            try:
                envelopes.append(parse_envelope(item))
            except ProtocolError as exc:
                log.warning("mailbox item %d does not parse (%s); skipped", index, exc.code)
        return envelopes

    async def acknowledge(
        self, envelopes: Sequence[Envelope], *, received_at: datetime | None = None
    ) -> AckResult:
        """Acknowledge envelopes with signed receipts over their digests."""
        moment = received_at or self.clock()
        return await self.send_receipts(
            [
                Receipt(
                    envelope_id=e.header.id,
                    envelope_sha256=e.digest(),
                    agency_id=self.agency_id,
                    received_at=moment,
                )
                for e in envelopes
            ]
        )

    async def send_receipts(self, receipts: Sequence[Receipt]) -> AckResult:
        """``POST /api/v1/receipts``: all or nothing. Nothing to send, nothing sent."""
        if not receipts:
            return AckResult((), ())
        body = await self.request(
            "POST",
            "/receipts",
            {"receipts": [sign_receipt(self.identity, r) for r in receipts]},
            signed=True,
        )
        return AckResult(_ids(body, "acknowledged"), _ids(body, "already"))

    async def announce_key(
        self, key: EncryptionPublicKey, *, valid_for: timedelta = DEFAULT_VALIDITY
    ) -> str:
        """Announce a new encryption key (``POST /api/v1/keys``); the hub seals to it next."""
        signed = announce_key(
            self.identity, self.agency_id, key, now=self.clock(), valid_for=valid_for
        )
        body = await self.request("POST", "/keys", signed.to_json(), signed=True)
        if body.get("fingerprint") != key.fingerprint:
            raise CryptoError("the hub confirmed another key than was sent", code="key-mismatch")
        return key.fingerprint

    # -- the disclosure log (parsed, not yet verified: see agency_client.transparency) ----

    async def log_head(self) -> SignedTreeHead:
        """The newest signed tree head (``GET /api/v1/log/head``)."""
        return parse_head(await self.request("GET", "/log/head", signed=True))

    async def log_inclusion(self, envelope_id: str) -> Inclusion:
        """The log entry of an envelope sent to this agency, with its inclusion proof."""
        query = urlencode({"envelope_id": envelope_id})
        return parse_inclusion(
            await self.request("GET", "/log/inclusion", query=query, signed=True)
        )

    async def log_consistency(self, old: int, new: int) -> tuple[bytes, ...]:
        """The consistency proof from tree size ``old`` to ``new``."""
        query = urlencode({"from": int(old), "to": int(new)})
        body = await self.request("GET", "/log/consistency", query=query, signed=True)
        return parse_consistency(body, old, new)

    async def log_keys(self) -> KeyEntries:
        """Every key entry about this agency, each with its inclusion proof."""
        return parse_key_entries(await self.request("GET", "/log/keys", signed=True))

    async def log_checkpoint(self) -> str:
        """The newest checkpoint, a C2SP signed note (``GET /api/v1/log/checkpoint``)."""
        raw = await self.exchange("GET", "/log/checkpoint", signed=True, accept="text/plain")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("the hub's checkpoint is not UTF-8", code="bad-note") from None

    async def post_cosignature(self, witnessed: str) -> dict[str, Any]:
        """Post this agency's cosignature: the checkpoint note with its line appended."""
        return await self.request(
            "POST", "/log/cosignatures", {"checkpoint": witnessed}, signed=True
        )

    async def post_witness_alarm(self, problem: str, cosigned: str, offered: str) -> dict[str, Any]:
        """Report a checkpoint this agency's witness refused to cosign."""
        body = {"problem": problem, "cosigned": cosigned, "offered": offered}
        return await self.request("POST", "/log/witness-alarms", body, signed=True)

    # -- HTTP ---------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # The proxy is read from the environment once, here: aiohttp's trust_env
            # would look it up, and read ~/.netrc, on a worker thread for every request.
            proxy = env_proxy(self.base_url)  # a bad setting: no session, so no direct call
            self._session = aiohttp.ClientSession()
            self._proxy = proxy
        return self._session

    async def request(
        self,
        method: str,
        endpoint: str,
        json_body: Mapping[str, Any] | None = None,
        *,
        query: str = "",
        signed: bool = False,
        timeout: float = REQUEST_TIMEOUT,
    ) -> dict[str, Any]:
        """Call ``/api/v1{endpoint}``; ``signed`` signs it as the agency. Returns the JSON object.

        Errors: ``HubUnavailable`` (transport), ``HubResponseError`` (problem+json answer),
        ``ProtocolError`` (an answer that is not a JSON object).
        """
        raw = await self.exchange(
            method, endpoint, json_body, query=query, signed=signed, timeout=timeout
        )
        try:
            body = loads_strict(raw)
        except ProtocolError:
            raise ProtocolError(f"the hub's answer to {method} {endpoint} is not JSON") from None
        if not isinstance(body, dict):
            raise ProtocolError(f"the hub's answer to {method} {endpoint} is not an object")
        return body

    async def exchange(
        self,
        method: str,
        endpoint: str,
        json_body: Mapping[str, Any] | None = None,
        *,
        query: str = "",
        signed: bool = False,
        timeout: float = REQUEST_TIMEOUT,
        accept: str = "application/json",
    ) -> bytes:
        """Call ``/api/v1{endpoint}`` and return the answer's bytes (a 2xx answer only;
        errors as for :meth:`request`)."""
        path = self.base_url.path.rstrip("/") + API + endpoint
        data = canonical_json(dict(json_body)) if json_body is not None else b""
        headers = {"Accept": accept}
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        if signed:
            headers.update(
                sign_request(
                    self.identity, self.agency_id, method, path, query, data, now=self.clock()
                )
            )
        url = self.base_url.with_path(path, encoded=False)
        if query:
            url = url.with_query(query)
        try:
            async with self._http().request(
                method,
                url,
                data=data if json_body is not None else None,
                headers=headers,
                ssl=self._ssl if self._ssl is not None else True,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
                proxy=self._proxy,
            ) as response:
                raw = await _read_limited(response)
                status = response.status
        except aiohttp.ClientSSLError as exc:
            raise HubUnavailable(
                f"TLS with the hub at {self.base_url} failed: {_reason(exc)}", code="tls-error"
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HubUnavailable(
                f"cannot reach the hub at {self.base_url}: {_reason(exc)}"
            ) from None
        if not 200 <= status < 300:
            raise _error_from(method, endpoint, status, raw)
        return raw


def env_proxy(url: URL) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY`` or ``HTTP_PROXY``,
    unless ``NO_PROXY`` covers its host), or None. Credentials go in the proxy's URL.

    A setting that is not an http(s) URL with a host is refused (``bad-proxy``; its
    value, which may hold credentials, is not repeated), never quietly ignored.
    """
    if urllib.request.proxy_bypass(url.host or ""):
        return None
    value = urllib.request.getproxies().get(url.scheme)
    if value is None:
        return None
    try:
        proxy: URL | None = URL(value)
    except ValueError:
        proxy = None
    if proxy is None or proxy.scheme not in {"http", "https"} or not proxy.host:
        name = f"{url.scheme.upper()}_PROXY"
        raise HubError(f"{name} is not an http(s) proxy URL", code="bad-proxy")
    return value


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    chunks, total = [], 0
    async for chunk in response.content.iter_chunked(1 << 16):
        total += len(chunk)
        if total > MAX_RESPONSE_BYTES:
            raise ProtocolError("the hub's answer is too large", code="payload-too-large")
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:_MAX_DETAIL]


def _error_from(method: str, endpoint: str, status: int, raw: bytes) -> HubResponseError:
    """A :class:`HubResponseError` from a problem+json answer (or whatever came instead)."""
    code, detail = f"http-{status}", ""
    try:
        doc = loads_strict(raw)
    except ProtocolError:
        doc = None
    if isinstance(doc, dict):
        kind = doc.get("type")
        if isinstance(kind, str) and kind.rstrip("/"):
            code = kind.rstrip("/").rsplit("/", 1)[-1]
        text = doc.get("detail") or doc.get("title")
        if isinstance(text, str):
            detail = " ".join(text.split())[:_MAX_DETAIL]
    message = f"the hub refused {method} {API}{endpoint} (HTTP {status})"
    return HubResponseError(
        f"{message}: {detail}" if detail else message, code=code, http_status=status
    )


def _hub_key(obj: object) -> IdentityPublicKey:
    """The hub key from ``{"identity_key": b64url, "fingerprint": hex}``, cross-checked."""
    if not isinstance(obj, dict) or not isinstance(obj.get("identity_key"), str):
        raise ProtocolError("the hub's answer has no identity key", code="malformed")
    try:
        key = IdentityPublicKey.from_bytes(b64decode(obj["identity_key"], field="identity_key"))
    except ValueError:
        raise ProtocolError("the hub's identity key is not an Ed25519 key") from None
    if obj.get("fingerprint") != key.fingerprint:
        raise CryptoError("the hub's key does not match its fingerprint", code="bad-fingerprint")
    return key


def _ids(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
    ids = body.get(name, [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ProtocolError(f"receipts answer: {name} is not a list of ids", code="malformed")
    return tuple(ids)
