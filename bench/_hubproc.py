"""What the delivery and agenda benchmarks share: real hub processes and enrolled agencies.

``hub_processes`` runs ``marac-hub init`` once and then ``marac-hub serve`` N times on
one data directory (and, for PostgreSQL, one database): N processes sharing the
database, as behind a load balancer. Agencies are invited, enrolled with
:meth:`agency_client.hub_client.HubClient.enrol` and approved over the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from _machine import cpu_ticks, pids, proc_stat

from agency_client.hub_client import HubClient
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair, IdentityPublicKey

READY_TIMEOUT = 30.0
ISP = "2026.1"
KINDS = ("police", "idva", "childrens_social_care", "adult_social_care", "health")


def hub_command() -> list[str]:
    """``marac-hub`` next to this interpreter, or ``python -m hub`` (the same CLI)."""
    script = Path(sys.executable).parent / "marac-hub"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub"]


def hub_env(database_url: str | None) -> dict[str, str]:
    """This environment without stray ``MARAC_HUB_*`` settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARAC_HUB_")}
    env["MARAC_HUB_KEY_FILE_STRENGTH"] = "interactive"
    env["MARAC_HUB_ANONYMOUS_BURST"] = "100000"  # every bench agency enrols from 127.0.0.1
    if database_url:
        env["MARAC_HUB_DATABASE_URL"] = database_url
    return env


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def admin_token(init_output: str) -> str:
    """The token ``marac-hub init`` prints on the line after ``admin token for ...``."""
    lines = [line.strip() for line in init_output.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("admin token for"):
            for candidate in lines[i + 1 :]:
                if candidate:
                    return candidate
    raise RuntimeError(f"no admin token in marac-hub init output:\n{init_output}")


def descendants(pid: int) -> list[int]:
    """The live children of ``pid``, their children, and so on (Linux ``/proc``)."""
    parents: dict[int, list[int]] = {}
    for entry in pids():
        if (stat := proc_stat(entry)) is not None:
            parents.setdefault(int(stat[1][1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and its live descendants (a hub's
    signature-checker helper), from Linux ``/proc``; None if the process is gone."""
    if proc_stat(pid) is None:
        return None
    found = (proc_stat(p) for p in [pid, *descendants(pid)])
    ticks = sum(cpu_ticks(stat[1]) for stat in found if stat is not None)
    return ticks / os.sysconf("SC_CLK_TCK")


def _rss_one(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """Resident memory (``VmRSS``, or the peak ``VmHWM``) in MB of a process and its live
    descendants (summed: for peaks, an upper bound), from ``/proc``."""
    own = _rss_one(pid, field)
    if own is None:
        return None
    return own + sum(_rss_one(child, field) or 0.0 for child in descendants(pid))


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


@dataclass
class Hub:
    """``marac-hub serve`` processes on one data directory: their URLs and the admin token."""

    urls: list[str]
    token: str
    processes: list[subprocess.Popen[bytes]]
    data_dir: Path
    database_url: str | None

    @property
    def url(self) -> str:
        """The first process's URL."""
        return self.urls[0]

    def cpu(self) -> float | None:
        """CPU seconds of every hub process, summed."""
        found = [cpu_seconds(p.pid) for p in self.processes]
        return None if any(c is None for c in found) else sum(c for c in found if c is not None)


@contextlib.asynccontextmanager
async def hub_processes(
    data_dir: Path, database_url: str | None, count: int = 1, *, serve_args: tuple[str, ...] = ()
) -> AsyncIterator[Hub]:
    """``marac-hub init`` then ``count`` ``marac-hub serve`` processes on free ports."""
    env = hub_env(database_url)
    base = [*hub_command(), "--data-dir", str(data_dir)]
    init = subprocess.run(
        [*base, "init"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if init.returncode != 0:
        raise RuntimeError(f"marac-hub init failed ({init.returncode}):\n{init.stderr}")
    token = admin_token(init.stdout)
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for _ in range(count):
            port = free_port()
            log = data_dir / f"serve-{port}.log"
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [*_serve_prefix(base), "serve", "--port", str(port), *serve_args],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
            await wait_ready(urls[-1], processes[-1], log)
        yield Hub(urls, token, processes, data_dir, database_url)
    finally:
        for process in processes:
            stop(process, grace=15.0)


def _serve_prefix(base: list[str]) -> list[str]:
    """``MARAC_BENCH_PROFILE=script.py``: run serve under that wrapper (profiling only)."""
    wrapper = os.environ.get("MARAC_BENCH_PROFILE")
    return [sys.executable, wrapper, *base[-2:]] if wrapper else base


def stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """Terminate, then kill if it has not gone within ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``/readyz`` answers 200; fail with the log's tail if the process exits."""
    deadline = time.monotonic() + READY_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"marac-hub serve exited ({process.returncode}):\n{tail}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"marac-hub serve did not answer /readyz within {READY_TIMEOUT:g} s")


async def staff(
    http: aiohttp.ClientSession, url: str, token: str, path: str, body: Any, method: str = "POST"
) -> Any:
    """A staff request with the bearer token; the JSON answer (non-2xx raises)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.request(method, url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        if resp.status not in {200, 201, 202}:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {doc}")
        return doc


@dataclass
class Agent:
    """One enrolled agency: its keys and a client of one hub process."""

    id: str
    identity: IdentityKeyPair
    encryption: EncryptionKeyPair
    client: HubClient
    pinned_hub_key: IdentityPublicKey  # the hub key enrolment returned


async def make_agents(
    http: aiohttp.ClientSession, hub: Hub, count: int, *, publish_isp: bool = True
) -> list[Agent]:
    """Publish the ISP; invite, enrol and approve ``count`` agencies; agency i's client
    talks to hub process i mod N."""
    if publish_isp:
        await staff(http, hub.url, hub.token, "/api/v1/isp", {"version": ISP, "title": "Bench ISP"})
    return list(await asyncio.gather(*(_agent(http, hub, i) for i in range(count))))


async def _agent(http: aiohttp.ClientSession, hub: Hub, index: int) -> Agent:
    agency_id = f"agency-{index:02d}"
    doc = await staff(
        http,
        hub.url,
        hub.token,
        "/api/v1/agencies",
        {
            "id": agency_id,
            "name": f"Agency {index:02d}",
            "kind": KINDS[index % len(KINDS)],
            "isp_version": ISP,
            "isp_signed_by": "Designated MARAC Officer",
            "isp_signed_on": "2026-01-05",
        },
    )
    identity, encryption = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
    enrolment = await HubClient.enrol(
        hub.url, doc["enrolment_code"], identity, encryption.public, now=datetime.now(UTC)
    )
    await staff(
        http,
        hub.url,
        hub.token,
        f"/api/v1/agencies/{agency_id}/approve",
        {"identity_fingerprint": enrolment.identity_fingerprint},
    )
    client = HubClient(hub.urls[index % len(hub.urls)], agency_id, identity)
    return Agent(agency_id, identity, encryption, client, enrolment.hub_key)


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: the first column left-aligned, the others right-aligned."""
    out = ["| " + " | ".join(headers) + " |"]
    out.append("| " + " | ".join(["---"] + ["---:"] * (len(headers) - 1)) + " |")
    for cells in rows:
        padded = cells + [""] * (len(headers) - len(cells))
        out.append("| " + " | ".join(padded) + " |")
    return "\n".join(out)
