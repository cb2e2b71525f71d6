"""The data directory is its owner's alone (0700), the database, its -wal and -shm files
and every key file too (0600), whatever the umask: at ``marac-hub init``, at a hub's
start, and for a data directory an older hub left readable."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from hub.cli import main
from hub.testing import running_hub

UMASKS = [0o022, 0o000]
KEY_FILES = ("hub-identity.key", "hub-encryption.key", "hub-kek.key")


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(data: Path, *, passphrase: bool) -> None:
    """Everything in ``data`` the hub's alone; the database's side files too."""
    assert mode(data) == 0o700
    names = {p.name for p in data.iterdir()}
    expected = {*KEY_FILES, "hub.sqlite3"} | ({"hub-passphrase"} if passphrase else set())
    assert expected <= names, names
    for path in data.iterdir():
        assert mode(path) == 0o600, f"{path.name}: {oct(mode(path))}"


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_init_makes_a_private_data_directory(
    mask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    data = tmp_path / "data"
    with umask(mask):
        assert main(["--data-dir", str(data), "init"]) == 0
        assert main(["--data-dir", str(data), "db", "check"]) == 0
    assert_private(data, passphrase=True)


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_init_narrows_a_data_directory_made_beforehand(
    mask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # as a package or an operator's mkdir leaves it
    with umask(mask):
        assert main(["--data-dir", str(data), "init"]) == 0
    assert_private(data, passphrase=True)


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
async def test_a_serving_hubs_files_are_private(mask: int, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(mask):
        async with running_hub(data) as hub, aiohttp.ClientSession() as http:
            async with http.get(f"{hub.url}/healthz") as response:
                assert response.status == 200
            assert (data / "hub.sqlite3-wal").exists()
            assert_private(data, passphrase=False)


def test_an_older_hubs_readable_files_are_narrowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "init"]) == 0
    data.chmod(0o755)
    for suffix in ("", "-wal", "-shm"):
        path = data / f"hub.sqlite3{suffix}"
        path.touch() if suffix and not path.exists() else None
        path.chmod(0o644)
    assert main(["--data-dir", str(data), "log", "head"]) == 0
    assert_private(data, passphrase=True)


def test_a_directory_that_is_not_a_hubs_is_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "not-a-hub"
    other.mkdir()
    other.chmod(0o755)
    assert main(["--data-dir", str(other), "log", "head"]) == 1
    assert mode(other) == 0o755
