"""``pip install marac-hub`` is the agency's install: agency-client and nothing of the server.

The wheel is built from this tree, installed into a clean venv (its dependencies from the
package index), and that venv's ``agency-client`` enrols with, polls and receives webhook
deliveries from a real hub served from the test's own environment.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import venv
from collections.abc import AsyncIterator, Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.testing import RunningHub, running_hub

ROOT = Path(__file__).resolve().parents[2]
PASS = "a long agency passphrase"
POLICE = {
    "id": "police-north",
    "name": "Police North",
    "kind": "police",
    "isp_version": "2026.1",
    "isp_signed_by": "Designated MARAC Officer",
    "isp_signed_on": "2026-11-01",
}
# Both tests share one built wheel and venv (module scope): keep them on one xdist worker.
pytestmark = pytest.mark.xdist_group("agency-install")


def _copy_sources(destination: Path) -> Path:
    """What the wheel is built from, copied so that the build writes nothing into the tree."""
    source = destination / "src"
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("hub", "agency_client"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    return source


def _run(*argv: str | Path, timeout: float = 600) -> str:
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """marac-hub's wheel, built from this tree without its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    source = _copy_sources(work)
    out = work / "dist"
    build = ["-m", "pip", "wheel", "--no-deps", "-q", "-w"]
    _run(sys.executable, *build, out, source)
    [built] = out.glob("marac_hub-*.whl")
    return built


@pytest.fixture(scope="module")
def agency_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean venv with ``pip install marac-hub`` (the wheel) and nothing else: its bin."""
    root = tmp_path_factory.mktemp("agency-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    _run(
        root / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel
    )
    yield root / "bin"


def _server_requirements(wheel: Path) -> set[str]:
    """The distributions the wheel's metadata puts in the ``server`` extra (normalised)."""
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    names = set()
    for requirement in metadata.get_all("Requires-Dist") or []:
        if re.search(r"""extra\s*==\s*["']server["']""", requirement):
            names.add(_normalise(re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0]))
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_agency_install_brings_no_server_library(wheel: Path, agency_venv: Path) -> None:
    server = _server_requirements(wheel)
    assert {"sqlalchemy", "asyncpg", "alembic", "fhir-resources"} <= server
    pip_list = [agency_venv / "python", "-m", "pip", "list", "--format", "json"]
    listed = json.loads(_run(*pip_list, "--disable-pip-version-check"))
    installed = {_normalise(p["name"]) for p in listed}
    assert "marac-hub" in installed
    assert installed.isdisjoint(server), installed & server
    # The hub server's command says in one line what to install, never a traceback.
    result = subprocess.run(
        [agency_venv / "marac-hub", "serve"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "pip install 'marac-hub[server]'" in result.stderr


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A real hub served from the test's environment (the server install)."""
    async with running_hub(
        tmp_path / "hub",
        push_interval_seconds=0.05,
        delivery_allow_networks=("127.0.0.0/8",),  # the agency's webhook receiver is on loopback
    ) as running:
        yield running


async def _staff(
    http: aiohttp.ClientSession, hub: RunningHub, method: str, path: str, body: Any
) -> Any:
    """A call as the hub's admin; asserts success."""
    headers = {"Authorization": f"Bearer {hub.admin_token}"}
    async with http.request(method, hub.url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        assert resp.status < 300, doc
        return doc


async def _notice(http: aiohttp.ClientSession, hub: RunningHub, text: str) -> str:
    """A notice to every agency: the one envelope's id."""
    doc = await _staff(http, hub, "POST", "/api/v1/notices", {"to": "all", "text": text})
    [envelope] = doc["envelopes"]
    envelope_id: str = envelope["id"]
    return envelope_id


async def _client(bin_dir: Path, *argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        bin_dir / "agency-client",
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "AGENCY_CLIENT_PASSPHRASE": PASS},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_for(path: Path, process: asyncio.subprocess.Process) -> None:
    for _ in range(1200):
        if path.exists():
            return
        assert process.returncode is None, "agency-client receive exited early"
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path.name} never arrived")


async def test_enrol_run_and_receive_with_the_agency_install(
    agency_venv: Path, hub: RunningHub, tmp_path: Path
) -> None:
    data, inbox = tmp_path / "police", tmp_path / "inbox"
    async with aiohttp.ClientSession() as http:
        invited = await _staff(http, hub, "POST", "/api/v1/agencies", POLICE)
        code = invited["enrolment_code"]
        status, out, err = await _client(
            agency_venv, "enrol", "--hub", hub.url, "--code", code, "--dir", str(data)
        )
        assert status == 0, err
        [fingerprint] = re.findall(r"agency identity\s+ed25519\s+(\S+)", out)
        approval = {"identity_fingerprint": fingerprint}
        await _staff(http, hub, "POST", "/api/v1/agencies/police-north/approve", approval)

        # run: the mailbox, polled.
        polled = await _notice(http, hub, "Agenda published for 3 December.")
        run = ["run", "--dir", str(data), "--once", "--wait", "5", "--sink", f"folder:{inbox}"]
        status, _, err = await _client(agency_venv, *run)
        assert status == 0, err
        doc = json.loads((inbox / f"{polled}.json").read_text())
        assert doc["payload"] == {"text": "Agenda published for 3 December."}

        # receive: the hub POSTs to the agency's webhook receiver.
        port = _free_port()
        receiver = await asyncio.create_subprocess_exec(
            agency_venv / "agency-client",
            "receive",
            "--dir",
            str(data),
            "--listen",
            f"127.0.0.1:{port}",
            "--sink",
            f"folder:{inbox}",
            stdin=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "AGENCY_CLIENT_PASSPHRASE": PASS},
        )
        try:
            config = {"url": f"http://127.0.0.1:{port}/", "allow_http": True, "timeout": 5}
            await _staff(
                http,
                hub,
                "PUT",
                "/api/v1/agencies/police-north/delivery",
                {"transport": "webhook", "format": "json", "config": config},
            )
            pushed = await _notice(http, hub, "Meeting moved to Thursday.")
            await _wait_for(inbox / f"{pushed}.json", receiver)
        finally:
            if receiver.returncode is None:
                receiver.terminate()
            _, stderr = await asyncio.wait_for(receiver.communicate(), 30)
    assert "Traceback" not in stderr.decode(), stderr.decode()
    doc = json.loads((inbox / f"{pushed}.json").read_text())
    assert doc["payload"] == {"text": "Meeting moved to Thursday."}
