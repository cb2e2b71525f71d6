"""The console scripts, run as a user runs them: real processes, real key files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agency_client.keystore import KeyDirectory
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.sealing import seal
from hub.protocol import b64encode
from hub.protocol.messages import Notice

BIN = Path(sys.executable).parent
PASS = "a long agency passphrase"


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("AGENCY_CLIENT_PASSPHRASE", None)
    full_env.update(env or {})
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: str) -> None:
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert code in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("script", "commands"),
    [
        ("marac-hub", ["init", "serve", "user", "agency", "send", "alerts", "demo"]),
        ("agency-client", ["keys", "open"]),
    ],
)
def test_help_lists_the_built_subcommands(script: str, commands: list[str]) -> None:
    result = run(script, "--help")
    assert result.returncode == 0
    for command in commands:
        assert f"    {command} " in result.stdout


def test_unknown_subcommand_is_refused() -> None:
    result = run("marac-hub", "frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_demo_seals_and_opens_with_both_suites() -> None:
    result = run("marac-hub", "demo", "--seal-only")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("opened by the agency: signature and header verified") == 2
    assert "hpke-x25519-sha256-chacha20poly1305" in result.stdout
    assert "hpke-mlkem768x25519-sha256-chacha20poly1305" in result.stdout


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agency") / "keys"
    result = run(
        "agency-client", "keys", "new", "--dir", str(path), env={"AGENCY_CLIENT_PASSPHRASE": PASS}
    )
    assert result.returncode == 0, result.stderr
    fingerprints = KeyDirectory(path).public_info()
    assert [i.fingerprint in result.stdout for i in fingerprints] == [True, True]
    return path


def test_keys_show_prints_fingerprints_without_passphrase(keydir: Path) -> None:
    result = run("agency-client", "keys", "show", "--dir", str(keydir))
    assert result.returncode == 0
    for info in KeyDirectory(keydir).public_info():
        assert info.fingerprint in result.stdout


def test_keys_new_refuses_to_overwrite(keydir: Path) -> None:
    before = (keydir / "identity.key").read_bytes()
    result = run(
        "agency-client", "keys", "new", "--dir", str(keydir), env={"AGENCY_CLIENT_PASSPHRASE": PASS}
    )
    one_line_error(result, "already holds an identity key")
    assert (keydir / "identity.key").read_bytes() == before


HUB = IdentityKeyPair.generate()


def _envelope_file(keydir: Path, tmp_path: Path, text: str = "Agenda published.") -> Path:
    key = next(iter(KeyDirectory(keydir).encryption_keys(PASS).values()))
    envelope = seal(
        Notice(text=text),
        sender=HUB,
        sender_id="hub",
        recipient_id="refuge-demo",
        recipient_key=key.public,
        now=datetime.now(UTC),
    )
    path = tmp_path / "envelope.json"
    path.write_bytes(envelope.to_bytes())
    return path


def _open(
    path: Path, keydir: Path, sender: str | None = None, passphrase: str = PASS
) -> subprocess.CompletedProcess[str]:
    return run(
        "agency-client",
        "open",
        str(path),
        "--keys",
        str(keydir),
        f"--sender-key={sender or b64encode(HUB.public.raw)}",
        env={"AGENCY_CLIENT_PASSPHRASE": passphrase},
    )


def test_open_decrypts_an_envelope_file(keydir: Path, tmp_path: Path) -> None:
    result = _open(_envelope_file(keydir, tmp_path), keydir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"text": "Agenda published."}
    assert "notice" in result.stderr


def test_open_with_passphrase_file(keydir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pass"
    secret.write_text(PASS + "\n")
    result = run(
        "agency-client",
        "open",
        str(_envelope_file(keydir, tmp_path)),
        "--keys",
        str(keydir),
        f"--sender-key={b64encode(HUB.public.raw)}",
        "--passphrase-file",
        str(secret),
    )
    assert result.returncode == 0, result.stderr


def test_open_with_wrong_passphrase(keydir: Path, tmp_path: Path) -> None:
    one_line_error(
        _open(_envelope_file(keydir, tmp_path), keydir, passphrase="nope"), "wrong-passphrase"
    )


def test_open_from_wrong_sender(keydir: Path, tmp_path: Path) -> None:
    other = b64encode(IdentityKeyPair.generate().public.raw)
    one_line_error(
        _open(_envelope_file(keydir, tmp_path), keydir, sender=other), "invalid-envelope"
    )


def test_open_tampered_file(keydir: Path, tmp_path: Path) -> None:
    path = _envelope_file(keydir, tmp_path)
    doc = json.loads(path.read_bytes())
    doc["header"]["case_ref"] = "M-2026-9999"
    path.write_text(json.dumps(doc))
    one_line_error(_open(path, keydir), "invalid-envelope")


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"\xff\xfe", b'{"header": {}}'])
def test_open_garbage_file(keydir: Path, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = _open(path, keydir)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_open_missing_file_and_bad_sender_key(keydir: Path, tmp_path: Path) -> None:
    one_line_error(_open(tmp_path / "absent.json", keydir), "cannot read")
    one_line_error(
        _open(_envelope_file(keydir, tmp_path), keydir, sender="not+base64"), "bad-base64"
    )
