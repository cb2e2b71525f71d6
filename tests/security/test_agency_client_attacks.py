"""The agency client's passphrase (issue 23, finding 8): a one-character passphrase was
accepted for new keys, and ``show`` or ``enrol`` without a terminal printed a 30-line
``EOFError`` traceback. The real ``agency-client`` command, as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

AGENCY_CLIENT = str(Path(sys.executable).parent / "agency-client")
STRONG = "a long agency passphrase"


def _client(*args: str, passphrase: str | None = None) -> subprocess.CompletedProcess[str]:
    """``agency-client ARGS`` with stdin closed and no controlling terminal."""
    env = {k: v for k, v in os.environ.items() if k != "AGENCY_CLIENT_PASSPHRASE"}
    if passphrase is not None:
        env["AGENCY_CLIENT_PASSPHRASE"] = passphrase
    return subprocess.run(
        [AGENCY_CLIENT, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no /dev/tty to prompt on
        check=False,
    )


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("weak", ["x", "short pass", "aaaaaaaaaaaaaaaa", "abababababababab"])
def test_a_weak_passphrase_cannot_protect_new_keys(tmp_path: Path, weak: str) -> None:
    line = _one_line_error(_client("keys", "new", "--dir", str(tmp_path / "k"), passphrase=weak))
    assert "passphrase is too weak" in line and "12 characters" in line
    assert not (tmp_path / "k").exists() or not any((tmp_path / "k").iterdir())
    secret = tmp_path / "passphrase"
    secret.write_text(weak + "\n")
    args = ["keys", "new", "--dir", str(tmp_path / "k2"), "--passphrase-file", str(secret)]
    assert "too weak" in _one_line_error(_client(*args))
    enrol = ["enrol", "--hub", "http://127.0.0.1:9", "--code", "a:b", "--dir", str(tmp_path / "e")]
    assert "too weak" in _one_line_error(_client(*enrol, passphrase=weak))


def test_a_strong_passphrase_makes_keys(tmp_path: Path) -> None:
    done = _client("keys", "new", "--dir", str(tmp_path / "k"), passphrase=STRONG)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["show", "01JAAAAAAAAAAAAAAAAAAAAAAA", "--dir", "{keys}"],
        ["enrol", "--hub", "http://127.0.0.1:9", "--code", "a:b", "--dir", "{new}"],
        ["keys", "new", "--dir", "{new}"],
        ["keys", "rotate", "--dir", "{keys}"],
    ],
    ids=["show", "enrol", "keys-new", "keys-rotate"],
)
def test_without_a_terminal_the_client_says_how_to_give_the_passphrase(
    tmp_path: Path, args: list[str]
) -> None:
    keys = tmp_path / "keys"
    assert _client("keys", "new", "--dir", str(keys), passphrase=STRONG).returncode == 0
    argv = [a.format(keys=keys, new=tmp_path / "new") for a in args]
    line = _one_line_error(_client(*argv))
    assert line.startswith("agency-client: ")
    assert "no terminal" in line and "--passphrase-file" in line
    assert "AGENCY_CLIENT_PASSPHRASE" in line
