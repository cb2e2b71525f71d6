"""``HubClient`` against a real hub on loopback (and over TLS): calls, refusals, URLs."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from agency_helpers import PASS, Agency, approve, enrolled, invite, notice
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agency_client.hub_client import (
    HubClient,
    HubResponseError,
    HubUnavailable,
    is_transient,
    tls_context,
)
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import open_envelope
from hub.hub_keys import create_hub_keys
from hub.protocol import ProtocolError
from hub.protocol.errors import HubError
from hub.server import create_app
from hub.settings import Settings
from hub.testing import RunningHub


@pytest.fixture
async def agencies() -> AsyncIterator[list[Agency]]:
    made: list[Agency] = []
    yield made
    for agency in made:
        await agency.client.close()
        agency.store.close()


async def test_fetch_hub_info(hub: RunningHub) -> None:
    async with HubClient(hub.url, "nobody", IdentityKeyPair.generate()) as client:
        info = await client.fetch_hub_info()
    assert info.identity_key == hub.keys.identity.public
    assert info.fingerprint == hub.keys.identity.fingerprint
    assert info.version


async def test_enrol_poll_acknowledge_and_announce(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path, agencies: list[Agency]
) -> None:
    police = await enrolled(http, hub, tmp_path, "police-north", approved=False)
    agencies.append(police)
    with pytest.raises(HubResponseError) as caught:
        await police.client.poll()
    assert (caught.value.code, caught.value.http_status) == ("agency-not-approved", 403)
    assert is_transient(caught.value)  # the runner waits for approval
    await approve(http, hub, police.id, police.identity.fingerprint)
    assert await police.client.poll(wait=0) == []

    [first_key] = police.encryption_keys().values()
    await notice(http, hub, "Agenda published.")
    [envelope] = await police.client.poll(wait=5, limit=10)
    assert envelope.header.recipient_key == first_key.fingerprint
    result = await police.client.acknowledge([envelope])
    assert (result.acknowledged, result.already) == ((envelope.header.id,), ())
    result = await police.client.acknowledge([envelope])
    assert (result.acknowledged, result.already) == ((), (envelope.header.id,))
    assert await police.client.poll() == []
    assert (await police.client.send_receipts([])).acknowledged == ()

    second_key = EncryptionKeyPair.generate()
    assert await police.client.announce_key(second_key.public) == second_key.fingerprint
    with pytest.raises(HubResponseError) as caught:
        await police.client.announce_key(second_key.public)
    assert caught.value.code == "conflict"
    await notice(http, hub, "Second notice.")
    [envelope] = await police.client.poll(wait=5)
    assert envelope.header.recipient_key == second_key.fingerprint
    opened = open_envelope(envelope, recipient=second_key, sender=hub.keys.identity.public)
    assert opened.payload == {"text": "Second notice."}


async def test_an_agency_cannot_acknowledge_anothers_envelope(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path, agencies: list[Agency]
) -> None:
    police = await enrolled(http, hub, tmp_path, "police-north")
    idva = await enrolled(http, hub, tmp_path, "idva-east", "idva")
    agencies.extend([police, idva])
    await notice(http, hub, "For the police only.", to="police-north")
    [envelope] = await police.client.poll(wait=5)
    with pytest.raises(HubResponseError) as caught:
        await idva.client.acknowledge([envelope])
    assert (caught.value.code, caught.value.http_status) == ("unknown-envelope", 404)
    assert not is_transient(caught.value)
    assert [e.header.id for e in await police.client.poll()] == [envelope.header.id]


async def test_refusals_are_one_line_hub_errors(
    hub: RunningHub, http: aiohttp.ClientSession
) -> None:
    code = await invite(http, hub, "housing-west", "housing")
    identity, key = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(HubResponseError) as caught:
        await HubClient.enrol(hub.url, "housing-west:wrong", identity, key.public, now)
    error = caught.value
    assert (error.code, error.http_status) == ("bad-enrolment-code", 403)
    assert "POST /api/v1/enrol" in error.diagnostics()
    assert "\n" not in error.diagnostics()
    enrolment = await HubClient.enrol(hub.url, code, identity, key.public, now)
    assert (enrolment.agency_id, enrolment.status) == ("housing-west", "pending")
    assert enrolment.hub_key == hub.keys.identity.public
    with pytest.raises(HubResponseError) as caught:  # single use
        await HubClient.enrol(hub.url, code, identity, key.public, now)
    assert caught.value.code == "bad-enrolment-code"
    with pytest.raises(ProtocolError) as caught_format:
        await HubClient.enrol(hub.url, "no-secret", identity, key.public, now)
    assert caught_format.value.code == "bad-enrolment-code"

    async with HubClient(hub.url, "nobody", identity) as stranger:
        with pytest.raises(HubResponseError) as caught:
            await stranger.poll()
    assert (caught.value.code, caught.value.http_status) == ("unknown-agency", 401)
    async with HubClient(hub.url + "/elsewhere", "nobody", identity) as lost:
        with pytest.raises(HubResponseError) as caught:
            await lost.fetch_hub_info()
    assert (caught.value.code, caught.value.http_status) == ("not-found", 404)


async def test_an_unreachable_hub_is_transient() -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        async with HubClient(f"http://127.0.0.1:{port}", "x", IdentityKeyPair.generate()) as c:
            with pytest.raises(HubUnavailable) as caught:
                await c.fetch_hub_info()
    assert caught.value.code == "hub-unreachable"
    assert is_transient(caught.value)


@pytest.mark.parametrize(
    ("url", "allow_http", "code"),
    [
        ("http://hub.example.org", False, "insecure-url"),
        ("ftp://hub.example.org", True, "bad-url"),
        ("https://", False, "bad-url"),
        ("https://hub.example.org/?x=1", False, "bad-url"),
    ],
)
def test_hub_urls_refused(url: str, allow_http: bool, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        HubClient(url, "x", IdentityKeyPair.generate(), allow_http=allow_http)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("url", "allow_http"),
    [
        ("https://hub.example.org/marac/", False),
        ("http://127.0.0.1:8470", False),
        ("http://[::1]:8470", False),
        ("http://localhost:8470", False),
        ("http://hub.internal:8470", True),
    ],
)
def test_hub_urls_accepted(url: str, allow_http: bool) -> None:
    client = HubClient(url, "x", IdentityKeyPair.generate(), allow_http=allow_http)
    assert not str(client.base_url).endswith("/")


def test_tls_context_verifies_and_refuses_old_versions() -> None:
    context = tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1: (ca, cert, key) PEM paths."""
    now = dt.datetime.now(dt.UTC)

    def cert(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: str,
        signer: ec.EllipticCurvePrivateKey,
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
        )

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = (
        cert("test CA", ca_key, "test CA", ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        cert("127.0.0.1", server_key, "test CA", ca_key)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


async def test_tls_hub_is_trusted_only_through_the_ca_bundle(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "hub", key_passphrase=PASS, key_file_strength="interactive"
    )
    keys = create_hub_keys(settings)
    ca, cert, key = _certificates(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    runner = web.AppRunner(create_app(settings), shutdown_timeout=1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url, identity = f"https://127.0.0.1:{port}", IdentityKeyPair.generate()
        async with HubClient(url, "x", identity) as untrusting:
            with pytest.raises(HubUnavailable) as caught:
                await untrusting.fetch_hub_info()
        assert caught.value.code == "tls-error"
        async with HubClient(url, "x", identity, ca_bundle=ca) as trusting:
            assert (await trusting.fetch_hub_info()).identity_key == keys.identity.public
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _forward_proxy(seen: list[str]) -> AsyncIterator[str]:
    """A plain-HTTP forward proxy on loopback: it records each absolute-form request it
    is asked for and fetches it."""

    async def forward(request: web.BaseRequest) -> web.Response:
        seen.append(str(request.url))
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host"}}
        async with (
            aiohttp.ClientSession() as upstream,
            upstream.request(request.method, request.url, data=body, headers=headers) as resp,
        ):
            payload = await resp.read()
            return web.Response(status=resp.status, body=payload, content_type=resp.content_type)

    server = web.Server(forward)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_the_environments_proxy_is_used_unless_no_proxy_covers_the_hub(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HTTP_PROXY`` (``HTTPS_PROXY`` for https) is read once per client session and
    every call goes through it; ``NO_PROXY`` naming the hub's host goes direct."""
    seen: list[str] = []
    async with _forward_proxy(seen) as proxy:
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        async with HubClient(hub.url, "nobody", IdentityKeyPair.generate()) as client:
            for _ in range(3):
                info = await client.fetch_hub_info()
        assert info.identity_key == hub.keys.identity.public
        assert seen == [f"{hub.url}/api/v1/hub"] * 3
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with HubClient(hub.url, "nobody", IdentityKeyPair.generate()) as client:
            await client.fetch_hub_info()
        assert len(seen) == 3  # went direct


@pytest.mark.parametrize(
    "proxy", ["not a url", "http://", "ftp://127.0.0.1:1", "http://[::1", "user:secret@host:3128"]
)
async def test_a_bad_proxy_setting_is_refused_in_one_line(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch, proxy: str
) -> None:
    """A malformed or non-http(s) ``HTTP_PROXY`` is a one-line ``bad-proxy`` error that
    does not repeat the setting (it may hold credentials); nothing goes direct instead."""
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    async with HubClient(hub.url, "nobody", IdentityKeyPair.generate()) as client:
        for _ in range(2):  # and not on a second try either
            with pytest.raises(HubError) as caught:
                await client.fetch_hub_info()
            assert caught.value.code == "bad-proxy" and not is_transient(caught.value)
            line = caught.value.diagnostics()
            assert line == "bad-proxy: HTTP_PROXY is not an http(s) proxy URL"
            assert "secret" not in line


async def test_an_unreachable_proxy_is_transient(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    async with HubClient(hub.url, "nobody", IdentityKeyPair.generate()) as client:
        with pytest.raises(HubUnavailable) as caught:
            await client.fetch_hub_info()
    assert is_transient(caught.value) and "\n" not in caught.value.diagnostics()
