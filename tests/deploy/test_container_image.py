"""deploy/Dockerfile built and run with podman: the hub answers /healthz as its own user.

Needs podman and a Python 3.11 base image: ``python:3.11-slim-bookworm`` (pulled if
absent), or a local image named by ``MARAC_TEST_PYTHON_IMAGE``. Skips, saying which is
missing, where the machine has neither (a sandbox without a container registry).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = os.environ.get("MARAC_TEST_PYTHON_IMAGE", "docker.io/library/python:3.11-slim-bookworm")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
pytestmark = pytest.mark.skipif(
    shutil.which("podman") is None,
    reason="podman is missing: as root, apt-get install -y podman to build and run the image",
)


def _podman(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # runc where installed: crun cannot start containers on hosts with hybrid cgroups.
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return subprocess.run(
        ["podman", *runtime, *argv], capture_output=True, text=True, timeout=timeout, check=False
    )


def _base_image() -> str:
    if _podman("image", "exists", BASE).returncode == 0:
        return BASE
    pulled = _podman("pull", "--quiet", BASE, timeout=300)
    if pulled.returncode != 0:
        reason = (pulled.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(
            f"no base image: {BASE} is not on this machine and podman cannot pull it "
            f"({reason}); pull it, or set MARAC_TEST_PYTHON_IMAGE to a local Python 3.11 image"
        )
    return BASE


@pytest.fixture
def image(tmp_path: Path) -> Iterator[str]:
    """The image, built from a copy of the sources (the server extra from the index)."""
    base = _base_image()
    context = tmp_path / "context"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("hub", "agency_client"):
        shutil.copytree(ROOT / package, context / package, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "deploy/Dockerfile"):
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, context / name)
    tag = f"localhost/marac-hub-test:{secrets.token_hex(4)}"
    # The host's CA bundle, so that pip in the build trusts what the host trusts (a proxy).
    trust = ["-v", f"{HOST_CA}:{HOST_CA}:ro"] if HOST_CA.exists() else []
    built = _podman(
        "build", "--quiet", "--layers=false", "--format", "docker", "--isolation", "chroot",
        "--network", "host",
        *trust, "--build-arg", f"PYTHON_IMAGE={base}", "-f", "deploy/Dockerfile", "-t", tag,
        str(context), timeout=1200,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    try:
        yield tag
    finally:
        _podman("rmi", "--force", tag)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_image_serves_healthz_as_an_unprivileged_user(image: str) -> None:
    name = f"marac-hub-test-{secrets.token_hex(4)}"
    port = _free_port()
    # Limits at or under this process's: a container may not raise them (no CAP_SYS_RESOURCE).
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 4096)
    nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[0], 4096)
    run = [
        "--network", "host", "--ulimit", f"nofile={nofile}:{nofile}",
        "--ulimit", f"nproc={nproc}:{nproc}", "-v", f"{name}:/var/lib/marac-hub",
        "-e", "MARAC_HUB_KEY_PASSPHRASE=a throwaway test passphrase",
        "-e", "MARAC_HUB_KEY_FILE_STRENGTH=interactive", "-e", "MARAC_HUB_HOST=127.0.0.1",
        "-e", f"MARAC_HUB_PORT={port}",
    ]  # fmt: skip
    try:
        init = _podman("run", "--rm", *run, image, "init")
        assert init.returncode == 0, init.stderr
        assert "admin token for admin" in init.stdout
        started = _podman("run", "-d", "--name", name, *run, image)
        assert started.returncode == 0, started.stderr
        health = None
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    health = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert health == {"status": "ok"}, _podman("logs", name).stderr[-2000:]
        # The image's own HEALTHCHECK passes, and the hub is not root.
        checked = _podman("healthcheck", "run", name)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert _podman("exec", name, "id", "-u").stdout.strip() == "10470"
    finally:
        _podman("rm", "--force", "--time", "5", name)
        _podman("volume", "rm", "--force", name)
