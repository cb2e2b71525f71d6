"""``agency-client enrol|run|inbox|show|keys rotate|open --dir`` as real processes, real hub."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from agency_helpers import PASS, approve, invite, notice

from agency_client.datadir import DataDir
from hub.crypto.sealing import seal
from hub.protocol.messages import Notice
from hub.testing import RunningHub

CLIENT = str(Path(sys.executable).parent / "agency-client")
ENV = {**os.environ, "AGENCY_CLIENT_PASSPHRASE": PASS}


async def cli(*argv: str, timeout: float = 60) -> tuple[int, str, str]:
    """Run agency-client without blocking the loop the hub serves on."""
    process = await asyncio.create_subprocess_exec(
        CLIENT,
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def one_line_error(result: tuple[int, str, str], text: str) -> None:
    status, _, err = result
    assert status == 1, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert text in err, err


async def test_help_lists_every_subcommand() -> None:
    status, out, _ = await cli("--help")
    assert status == 0
    for command in ("enrol", "run", "inbox", "show", "keys", "open"):
        assert f"    {command} " in out
    status, out, _ = await cli("keys", "--help")
    assert status == 0 and "rotate" in out


async def test_enrol_run_inbox_show_rotate_and_open(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    data = tmp_path / "police"
    code = await invite(http, hub, "police-north", "police")
    status, out, err = await cli("enrol", "--hub", hub.url, "--code", code, "--dir", str(data))
    assert status == 0, err
    identity = DataDir(data).keys.public_info()[0].fingerprint
    assert f"agency identity    ed25519  {identity}" in out
    assert f"hub identity       ed25519  {hub.keys.identity.fingerprint}" in out
    assert "status: pending" in out
    one_line_error(
        await cli("enrol", "--hub", hub.url, "--code", code, "--dir", str(data)), "already-enrolled"
    )
    one_line_error(await cli("run", "--dir", str(data), "--once"), "agency-not-approved")

    await approve(http, hub, "police-north", identity)
    [sent] = await notice(http, hub, "Agenda published for 3 December.")
    inbox = tmp_path / "inbox"
    status, _, err = await cli(
        "run", "--dir", str(data), "--once", "--wait", "5", "--sink", f"folder:{inbox}"
    )
    assert status == 0, err
    assert "received 1, stored 1" in err and "handed 1" in err
    doc = json.loads((inbox / f"{sent['id']}.json").read_text())
    assert doc["payload"] == {"text": "Agenda published for 3 December."}

    status, out, _ = await cli("inbox", "--dir", str(data))
    assert status == 0
    [line] = [row for row in out.splitlines() if row.startswith(sent["id"])]
    assert line.split()[1:3] == ["notice", "-"] and not line.endswith(" no")

    status, out, err = await cli("show", sent["id"], "--dir", str(data))
    assert status == 0 and json.loads(out) == {"text": "Agenda published for 3 December."}
    assert f"notice {sent['id']} from hub" in err
    one_line_error(await cli("show", "01JDZZZZZZZZZZZZZZZZZZZZZZ", "--dir", str(data)), "unknown")

    status, out, err = await cli("keys", "rotate", "--dir", str(data))
    assert status == 0, err
    status, shown, _ = await cli("keys", "show", "--dir", str(data))
    assert status == 0 and shown.count("encryption-") == 2
    new_key = out.split()[2]
    assert new_key in shown

    keys = DataDir(data).keys.encryption_keys(PASS)
    envelope = seal(
        Notice(text="Sent by e-mail."),
        sender=hub.keys.identity,
        sender_id="hub",
        recipient_id="police-north",
        recipient_key=keys[new_key].public,
        now=datetime.now(UTC),
    )
    path = tmp_path / "attachment.json"
    path.write_bytes(envelope.to_bytes())
    status, out, err = await cli("open", str(path), "--dir", str(data))
    assert status == 0, err
    assert json.loads(out) == {"text": "Sent by e-mail."}


async def test_run_until_sigterm(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    data, inbox = tmp_path / "idva", tmp_path / "inbox"
    code = await invite(http, hub, "idva-east", "idva")
    status, _, err = await cli("enrol", "--hub", hub.url, "--code", code, "--dir", str(data))
    assert status == 0, err
    await approve(http, hub, "idva-east", DataDir(data).keys.public_info()[0].fingerprint)
    process = await asyncio.create_subprocess_exec(
        CLIENT,
        "run",
        "--dir",
        str(data),
        "--sink",
        f"folder:{inbox}",
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    try:
        [sent] = await notice(http, hub, "Meeting moved to Thursday.")
        for _ in range(200):
            if (inbox / f"{sent['id']}.json").exists():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the running client did not hand the message over")
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["inbox", "--dir", "{tmp}/absent"], "agency-client enrol"),
        (["run", "--dir", "{tmp}/absent", "--sink", "mail:x"], "bad-sink"),
        (["run", "--dir", "{tmp}/absent", "--wait", "61"], "--wait"),
        (["open", "{tmp}/e.json"], "--sender-key"),
        (["enrol", "--hub", "http://hub.example.org", "--code", "a:b", "--dir", "{tmp}/d"], "http"),
    ],
)
async def test_refusals_are_one_line(tmp_path: Path, argv: list[str], text: str) -> None:
    one_line_error(await cli(*(a.format(tmp=tmp_path) for a in argv)), text)


async def test_one_runner_per_data_directory(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "client")
    with data.open_store(create=True) as store:
        store.set_config("agency_id", "police-north")
    with data.run_lock():
        one_line_error(await cli("run", "--dir", str(data.path), "--once"), "busy")
