"""Hub processes for the scale-out tests: ``marac-hub init`` and ``serve`` as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from agency_client.hub_client import HubClient
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair

MARAC_HUB = str(Path(sys.executable).parent / "marac-hub")
ISP = "2026.1"


def env_for(database_url: str | None) -> dict[str, str]:
    """This environment without stray ``MARAC_HUB_*``, plus the database and quick keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARAC_HUB_")}
    env["MARAC_HUB_KEY_FILE_STRENGTH"] = "interactive"
    if database_url:
        env["MARAC_HUB_DATABASE_URL"] = database_url
    return env


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def init(data_dir: Path, database_url: str | None) -> str:
    """``marac-hub init``; the admin token it prints."""
    done = subprocess.run(
        [MARAC_HUB, "--data-dir", str(data_dir), "init"],
        env=env_for(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return lines[lines.index(next(x for x in lines if x.startswith("admin token for"))) + 1]


@dataclass
class Served:
    """A ``marac-hub serve`` process and its URL."""

    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def serve(data_dir: Path, database_url: str | None, *extra: str) -> Iterator[Served]:
    """``marac-hub serve`` on a free port until ``/readyz`` answers; terminated on exit."""
    port = free_port()
    log = (data_dir / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [MARAC_HUB, "--data-dir", str(data_dir), "serve", "--port", str(port), *extra],
        env=env_for(database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        wait_ready(served, data_dir / f"serve-{port}.log")
        yield served
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_ready(served: Served, log: Path, timeout: float = 30.0) -> None:
    """Until ``GET /readyz`` answers 200 (or the process exits: fail with its output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text(errors='replace')[-2000:]}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(
                ("127.0.0.1", int(served.url.rsplit(":", 1)[1])), timeout=1
            ) as sock,
        ):
            sock.sendall(b"GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n")
            if b" 200 " in sock.recv(100):
                return
        time.sleep(0.1)
    raise AssertionError("serve did not become ready")


async def staff(http: aiohttp.ClientSession, url: str, token: str, path: str, body: Any) -> Any:
    """A staff POST; the JSON answer (any status but 2xx fails)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        assert resp.status in (200, 201, 202), (path, resp.status, doc)
        return doc


@dataclass
class Agency:
    """An enrolled, approved agency: its keys."""

    id: str
    identity: IdentityKeyPair
    encryption: EncryptionKeyPair

    def client(self, url: str) -> HubClient:
        """A client of the hub at ``url``."""
        return HubClient(url, self.id, self.identity)


async def enrol_agencies(
    http: aiohttp.ClientSession, url: str, token: str, count: int, *, publish: bool = True
) -> list[Agency]:
    """Publish the ISP (``hub.testing.running_hub`` has), then invite, enrol and approve
    ``count`` agencies."""
    if publish:
        await staff(http, url, token, "/api/v1/isp", {"version": ISP, "title": "Test ISP"})
    out = []
    for index in range(count):
        agency_id = f"agency-{index:02d}"
        invited = await staff(
            http,
            url,
            token,
            "/api/v1/agencies",
            {
                "id": agency_id,
                "name": f"Agency {index}",
                "kind": "police",
                "isp_version": ISP,
                "isp_signed_by": "Designated MARAC Officer",
                "isp_signed_on": "2026-01-05",
            },
        )
        identity, encryption = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
        await HubClient.enrol(
            url, invited["enrolment_code"], identity, encryption.public, now=datetime.now(UTC)
        )
        await staff(
            http,
            url,
            token,
            f"/api/v1/agencies/{agency_id}/approve",
            {"identity_fingerprint": identity.fingerprint},
        )
        out.append(Agency(agency_id, identity, encryption))
    return out


@contextlib.asynccontextmanager
async def clients(agencies: list[Agency], url: str) -> AsyncIterator[list[HubClient]]:
    """One client per agency on ``url``, closed on exit."""
    made = [a.client(url) for a in agencies]
    try:
        yield made
    finally:
        await asyncio.gather(*(c.close() for c in made))
