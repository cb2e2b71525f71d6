"""Real receivers on loopback for the transport tests: an HTTPS server and an SMTP server
(aiosmtpd, STARTTLS and AUTH), with certificates made by ``cryptography``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import ipaddress
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agency_client.receiver import WebhookReceiver
from agency_client.rotation import KeyRotation
from agency_client.runner import CycleReport, Runner, RunnerSettings
from agency_client.sinks import FolderSink
from hub.adapters.destinations import Destinations
from hub.adapters.smtp import SmtpTransport
from hub.adapters.testing import Harness
from hub.adapters.webhook import WebhookTransport

SMTP_USER, SMTP_PASSWORD = "marac-hub", "a test mail password"


@dataclass(frozen=True)
class Tls:
    """A self-signed loopback certificate: its file (also the CA bundle) and key file."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls(directory: Path, name: str = "loopback") -> Tls:
    """A certificate for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    tls = Tls(directory / f"{name}.pem", directory / f"{name}-key.pem")
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tls


@dataclass
class Faults:
    """What the receiver does to the next requests: a list of steps, consumed in order.

    A step is ``("status", code, retry_after)`` or ``("hang", seconds)``.
    """

    steps: list[tuple[Any, ...]] = field(default_factory=list)

    def next(self) -> tuple[Any, ...] | None:
        return self.steps.pop(0) if self.steps else None


Handler = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]


async def _accept(_request: web.Request, _body: bytes) -> web.StreamResponse:
    return web.json_response({})


@dataclass
class HttpReceiver:
    """An HTTPS (or HTTP) server on loopback that records what it saw and can misbehave."""

    url: str
    faults: Faults
    wire: list[bytes]
    received: list[bytes]
    requests: list[tuple[dict[str, str], bytes]]


@contextlib.asynccontextmanager
async def http_receiver(
    tls: Tls | None, handler: Handler = _accept, path: str = "/marac/inbox"
) -> AsyncIterator[HttpReceiver]:
    """Serve ``handler`` behind the fault injector on 127.0.0.1, a free port."""
    faults, wire, received, requests = Faults(), [], [], []

    async def endpoint(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        head = "".join(f"{k}: {v}\n" for k, v in request.headers.items())
        wire.append(f"{request.method} {request.path_qs}\n{head}\n".encode() + body)
        requests.append((dict(request.headers), body))
        step = faults.next()
        if step is not None and step[0] == "hang":
            await asyncio.sleep(step[1])
        elif step is not None:
            headers = {"Retry-After": str(step[2])} if step[2] is not None else {}
            return web.Response(status=step[1], headers=headers, text="try later")
        answer = await handler(request, body)
        if 200 <= answer.status < 300:
            received.append(body)
        return answer

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post(path, endpoint)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls.server_context() if tls else None)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if tls else "http"
    try:
        yield HttpReceiver(f"{scheme}://127.0.0.1:{port}{path}", faults, wire, received, requests)
    finally:
        await runner.cleanup()


class WebhookHarness(Harness):
    """The kit's view of a webhook transport and an HTTPS receiver."""

    def __init__(self, receiver: HttpReceiver, tls: Tls) -> None:
        config = {"url": receiver.url, "ca_file": str(tls.cert), "timeout": 5}
        loopback = Destinations.of(["127.0.0.0/8"], ca_dir=tls.cert.parent)
        super().__init__(WebhookTransport(loopback), config)
        self.receiver = receiver

    def fail_next(self, times: int, *, retry_after: float | None = None) -> None:
        self.receiver.faults.steps += [("status", 503, retry_after)] * times

    def received(self) -> list[bytes]:
        return list(self.receiver.received)

    def wire(self) -> bytes:
        return b"".join(self.receiver.wire)


# -- SMTP ----------------------------------------------------------------------------


def attachment_of(raw: bytes) -> bytes:
    """The one attachment of a raw mail."""
    mail = email.message_from_bytes(raw, policy=default_policy)
    parts = [p for p in mail.walk() if p.get_content_disposition() == "attachment"]
    assert len(parts) == 1, [p.get_content_type() for p in mail.walk()]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


@dataclass
class SmtpReceiver:
    """An aiosmtpd server on loopback (STARTTLS required, AUTH required)."""

    port: int
    wire: list[bytes]
    mails: list[bytes]
    faults: Faults
    server: asyncio.Server | None = None

    @property
    def received(self) -> list[bytes]:
        return [attachment_of(raw) for raw in self.mails]

    def messages(self) -> list[Message]:
        return [email.message_from_bytes(raw, policy=default_policy) for raw in self.mails]


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        self.receiver.wire.append(
            f"MAIL FROM:{envelope.mail_from}\nRCPT TO:{envelope.rcpt_tos}\n".encode() + raw
        )
        step = self.receiver.faults.next()
        if step is not None:
            return "451 4.3.0 Temporary failure, try again later"
        self.receiver.mails.append(raw)
        return "250 2.0.0 OK"


def _authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


@contextlib.asynccontextmanager
async def smtp_receiver(tls: Tls, *, port: int = 0) -> AsyncIterator[SmtpReceiver]:
    """Serve SMTP with STARTTLS and AUTH on 127.0.0.1."""
    receiver = SmtpReceiver(port, [], [], Faults())
    await start_smtp(receiver, tls, port=port)
    try:
        yield receiver
    finally:
        await stop_smtp(receiver)


async def start_smtp(receiver: SmtpReceiver, tls: Tls, *, port: int = 0) -> None:
    """(Re)start ``receiver``'s server on ``port`` (0: a free one)."""
    handler = _Handler(receiver)
    context = tls.server_context()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(
            handler,
            hostname="localhost",
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            authenticator=_authenticate,
        ),
        "127.0.0.1",
        port,
    )
    receiver.server = server
    receiver.port = server.sockets[0].getsockname()[1]


async def stop_smtp(receiver: SmtpReceiver) -> None:
    """Stop listening (a server that is down)."""
    if receiver.server is not None:
        receiver.server.close()
        await receiver.server.wait_closed()
        receiver.server = None


def smtp_config(receiver: SmtpReceiver, tls: Tls, to: str = "dmo@refuge.example") -> dict[str, Any]:
    """Settings for the SMTP transport pointing at ``receiver``."""
    return {
        "host": "127.0.0.1",
        "port": receiver.port,
        "security": "starttls",
        "from": "marac-hub@area.example",
        "to": to,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "ca_file": str(tls.cert),
        "timeout": 5,
    }


class SmtpHarness(Harness):
    """The kit's view of the SMTP transport and an aiosmtpd receiver."""

    supports_retry_after = False  # SMTP has no Retry-After

    def __init__(self, receiver: SmtpReceiver, tls: Tls) -> None:
        loopback = Destinations.of(["127.0.0.0/8"], ca_dir=tls.cert.parent)
        super().__init__(SmtpTransport(loopback), smtp_config(receiver, tls))
        self.receiver = receiver

    def fail_next(self, times: int, *, retry_after: float | None = None) -> None:
        self.receiver.faults.steps += [("status", 451, retry_after)] * times

    def received(self) -> list[bytes]:
        return self.receiver.received

    def wire(self) -> bytes:
        return b"".join(self.receiver.wire)


# -- a real hub and a real agency client --------------------------------------------

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agency_client"))
from agency_helpers import (  # noqa: E402
    PASS,
    Agency,
    enrolled,  # noqa: F401 - for the tests
    notice,  # noqa: F401
    staff,
)


def receiver_for(agency: Agency, sink_dir: Path) -> WebhookReceiver:
    """The agency client's webhook endpoint for ``agency``, handing to a folder sink."""
    hub_key = agency.store.hub_key()
    assert hub_key is not None
    rotation = KeyRotation(agency.client, agency.store, agency.data.keys, PASS)
    runner = Runner(
        agency.client,
        agency.store,
        rotation,
        hub_key,
        FolderSink(sink_dir),
        settings=RunnerSettings(check_log=False),
    )
    return WebhookReceiver(
        agency.id,
        agency.identity,
        agency.store,
        rotation,
        hub_key,
        hand_over=lambda: runner.hand_over(CycleReport()),
    )


async def set_delivery(
    http: Any, hub: Any, agency_id: str, transport: str, config: dict[str, Any], fmt: str = "json"
) -> Any:
    """Choose the agency's transport through the API (as the hub's admin)."""
    return await staff(
        http,
        hub,
        "PUT",
        f"/api/v1/agencies/{agency_id}/delivery",
        {"transport": transport, "format": fmt, "config": config},
    )


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)
