"""How costly new agency key files are to open: ``AGENCY_CLIENT_KEY_STRENGTH``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agency_client.keystore import IDENTITY_FILE, KeyDirectory
from hub.crypto.keyfile import STRENGTHS


def _cost(path: Path) -> tuple[int, int]:
    kdf = json.loads(path.read_bytes())["kdf"]
    return kdf["opslimit"], kdf["memlimit"]


def test_new_keys_are_moderate_unless_the_setting_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENCY_CLIENT_KEY_STRENGTH")
    moderate = KeyDirectory(tmp_path / "default")
    _, encryption = moderate.create("a long agency passphrase")
    assert _cost(moderate.path / IDENTITY_FILE) == STRENGTHS["moderate"]
    assert _cost(moderate.encryption_key_path(encryption.fingerprint)) == STRENGTHS["moderate"]
    monkeypatch.setenv("AGENCY_CLIENT_KEY_STRENGTH", "interactive")
    quick = KeyDirectory(tmp_path / "quick")
    quick.create("a long agency passphrase")
    assert _cost(quick.path / IDENTITY_FILE) == STRENGTHS["interactive"]
    # a key already written keeps its cost, and still opens
    assert moderate.identity("a long agency passphrase").fingerprint


def test_an_unknown_strength_is_one_line_and_writes_no_key(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AGENCY_CLIENT_KEY_STRENGTH": "feeble",
        "AGENCY_CLIENT_PASSPHRASE": "a long agency passphrase",
    }
    client = Path(sys.executable).parent / "agency-client"
    argv = [str(client), "keys", "new", "--dir", str(tmp_path)]
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, check=False
    )
    assert done.returncode == 1, done
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "AGENCY_CLIENT_KEY_STRENGTH must be one of interactive" in done.stderr
    assert not list(tmp_path.glob("*.key"))
