"""``marac-hub`` administration commands, run as processes against a real data directory."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from hub.serving import _freeze_startup_objects

BIN = Path(sys.executable).parent


def hub(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARAC_HUB_KEY_FILE_STRENGTH": "interactive"}
    env.pop("MARAC_HUB_DATABASE_URL", None)
    return subprocess.run(
        [str(BIN / "marac-hub"), "--data-dir", str(data), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def fails(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and text in result.stderr, result.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hub") / "data"
    result = hub(path, "init")
    assert result.returncode == 0, result.stderr
    assert "mht_" in result.stdout
    assert (path / "hub.sqlite3").exists()
    for name in ("hub-identity.key", "hub-encryption.key", "hub-kek.key"):
        assert b"PRIVATE" not in (path / name).read_bytes()
    return path


def test_init_refuses_to_run_twice(data: Path) -> None:
    before = (data / "hub-identity.key").read_bytes()
    fails(hub(data, "init"), "already holds hub keys")
    assert (data / "hub-identity.key").read_bytes() == before


def test_commands_need_an_initialised_directory(tmp_path: Path) -> None:
    fails(hub(tmp_path / "nothing", "agency", "list"), "run marac-hub init")


def test_users(data: Path) -> None:
    added = hub(data, "user", "add", "casey", "--role", "coordinator")
    assert added.returncode == 0 and "mht_" in added.stdout
    fails(hub(data, "user", "add", "casey", "--role", "dpo"), "already exists")
    listed = hub(data, "user", "list").stdout
    assert "casey" in listed and "coordinator" in listed
    assert hub(data, "user", "revoke", "casey").returncode == 0
    assert "revoked" in hub(data, "user", "list").stdout
    fails(hub(data, "user", "revoke", "casey"), "no active user")
    assert hub(data, "user", "add", "x", "--role", "wizard").returncode == 2


def test_agencies_and_send(data: Path) -> None:
    assert hub(data, "isp", "publish", "2026.1", "--title", "ISP").returncode == 0
    invited = hub(
        data,
        "agency",
        "invite",
        "housing-east",
        "--name",
        "East Housing",
        "--kind",
        "housing",
        "--isp-version",
        "2026.1",
        "--isp-signed-by",
        "Head of Housing",
        "--isp-signed-on",
        "2026-11-01",
    )
    assert invited.returncode == 0, invited.stderr
    assert "housing-east:" in invited.stdout
    assert "invited" in hub(data, "agency", "list").stdout
    fails(
        hub(data, "agency", "approve", "housing-east", "--fingerprint", "0" * 64),
        "not awaiting approval",
    )
    fails(hub(data, "agency", "suspend", "housing-east"), "cannot make it suspended")
    fails(hub(data, "send", "--to", "housing-east", "--text", "hello"), "agency-not-active")
    fails(hub(data, "send", "--all", "--text", "hello"), "nothing sent")  # exit 1: none sent
    assert hub(data, "agency", "revoke", "housing-east").returncode == 0
    assert "revoked" in hub(data, "agency", "list").stdout
    fails(hub(data, "send", "--to", "nobody", "--text", "x"), "not-found")
    assert "no open alerts" in hub(data, "alerts").stdout


def test_bad_invitation_is_refused(data: Path) -> None:
    fails(
        hub(
            data,
            "agency",
            "invite",
            "Bad Id",
            "--name",
            "x",
            "--kind",
            "police",
            "--isp-version",
            "1",
            "--isp-signed-by",
            "x",
            "--isp-signed-on",
            "2026-01-01",
        ),
        "agency id",
    )
    assert (
        hub(
            data,
            "agency",
            "invite",
            "x",
            "--name",
            "x",
            "--kind",
            "police",
            "--isp-version",
            "1",
            "--isp-signed-by",
            "x",
            "--isp-signed-on",
            "soon",
        ).returncode
        == 2
    )


async def test_serve_freezes_what_startup_made() -> None:
    """``serve`` moves the objects its startup made out of the collector's reach, so a
    full collection under load walks only what was made since (no 60 ms pauses)."""
    made_at_startup = [[i] for i in range(10_000)]
    before = gc.get_freeze_count()
    try:
        await _freeze_startup_objects(web.Application())
        assert gc.get_freeze_count() >= before + len(made_at_startup)
        collected = {id(o) for o in gc.get_objects()}  # every generation but the frozen one
        assert not any(id(x) in collected for x in made_at_startup)
    finally:
        gc.unfreeze()
