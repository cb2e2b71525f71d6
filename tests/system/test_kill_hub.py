"""A hub killed with SIGKILL mid-broadcast, four coordinators sending at once, loses
nothing and duplicates nothing.

Real processes throughout: ``marac-hub serve`` on a loopback port, three
``agency-client run`` processes whose stdout sink receives each message as one JSON line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent
AGENCIES = ("police-kill", "idva-kill", "housing-kill")
MESSAGES = 500
SENDERS = 4
KILL_AT = MESSAGES // 3 // SENDERS * SENDERS  # the first of a round of SENDERS sends
PASSPHRASE = "agency passphrase for the kill test"


def _env() -> dict[str, str]:
    env = {
        **os.environ,
        "MARAC_HUB_KEY_FILE_STRENGTH": "interactive",
        "AGENCY_CLIENT_PASSPHRASE": PASSPHRASE,
    }
    env.pop("MARAC_HUB_DATABASE_URL", None)
    return env


def _run(*argv: str) -> str:
    result = subprocess.run(
        argv, capture_output=True, text=True, env=_env(), timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_hub(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [str(BIN / "marac-hub"), "--data-dir", str(data), "serve", "--port", str(port)],
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("hub did not become ready: " + log.read_text()[-2000:])


def _notice(port: int, token: str, text: str) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/notices",
        method="POST",
        data=json.dumps({"to": "all", "text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status == 202
    except (OSError, urllib.error.HTTPError):
        return False


def _delivered(path: Path) -> list[str]:
    texts = []
    for line in path.read_text().splitlines():
        if line.strip():
            texts.append(json.loads(line)["payload"]["text"])
    return texts


def _queued(data: Path) -> int:
    db = sqlite3.connect(data / "hub.sqlite3", timeout=10)
    try:
        return int(db.execute("SELECT count(*) FROM outbox WHERE status = 'queued'").fetchone()[0])
    finally:
        db.close()


def test_sigkill_mid_broadcast(tmp_path: Path) -> None:
    data, port = tmp_path / "hub", _free_port()
    token = re.search(
        r"(mht_\S+)", _run(str(BIN / "marac-hub"), "--data-dir", str(data), "init")
    ).group(1)  # type: ignore[union-attr]
    _run(str(BIN / "marac-hub"), "--data-dir", str(data), "isp", "publish", "1", "--title", "ISP")
    hub_log = tmp_path / "hub.log"
    hub = _start_hub(data, port, hub_log)
    clients, sinks = [], {}
    try:
        for agency in AGENCIES:
            out = _run(
                str(BIN / "marac-hub"),
                "--data-dir",
                str(data),
                "agency",
                "invite",
                agency,
                "--name",
                agency,
                "--kind",
                "police",
                "--isp-version",
                "1",
                "--isp-signed-by",
                "DMO",
                "--isp-signed-on",
                "2026-11-01",
            )
            code = out.strip().splitlines()[-1]
            enrolled = _run(
                str(BIN / "agency-client"),
                "enrol",
                "--hub",
                f"http://127.0.0.1:{port}",
                "--code",
                code,
                "--dir",
                str(tmp_path / agency),
            )
            fingerprint = re.search(r"agency identity\s+ed25519\s+([0-9a-f]{64})", enrolled).group(
                1
            )  # type: ignore[union-attr]
            _run(
                str(BIN / "marac-hub"),
                "--data-dir",
                str(data),
                "agency",
                "approve",
                agency,
                "--fingerprint",
                fingerprint,
            )
            sinks[agency] = tmp_path / f"{agency}.jsonl"
            argv = [
                str(BIN / "agency-client"),
                "run",
                "--dir",
                str(tmp_path / agency),
                "--sink",
                "stdout",
                "--wait",
                "5",
            ]
            with sinks[agency].open("wb") as out, (tmp_path / f"{agency}.log").open("wb") as err:
                clients.append(subprocess.Popen(argv, env=_env(), stdout=out, stderr=err))

        # Four coordinators at once (notices group-committed, receipts too); the kill
        # lands while a round of four is in flight, some of it mid-transaction.
        accepted: set[str] = set()
        with ThreadPoolExecutor(SENDERS) as pool:
            for start in range(0, MESSAGES, SENDERS):
                texts = [f"kill-test message {n:04d}" for n in range(start, start + SENDERS)]
                if start == KILL_AT + 20:  # a few sends fail while it is down; then restart
                    hub = _start_hub(data, port, hub_log)
                sent = [pool.submit(_notice, port, token, text) for text in texts]
                if start == KILL_AT:  # mid-broadcast, with deliveries under way
                    time.sleep(0.005)
                    hub.send_signal(signal.SIGKILL)
                    hub.wait()
                accepted.update(text for text, ok in zip(texts, sent, strict=True) if ok.result())
        assert MESSAGES // 2 < len(accepted) < MESSAGES

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if (
                all(accepted <= set(_delivered(sinks[a])) for a in AGENCIES) and _queued(data) == 0
            ):  # also sends committed but never answered
                break
            time.sleep(0.5)
        for agency in AGENCIES:
            got = _delivered(sinks[agency])
            assert accepted <= set(got), f"{agency} missed {len(accepted - set(got))}"
            assert len(got) == len(set(got)), f"{agency} got duplicates"
            assert set(got) <= {f"kill-test message {n:04d}" for n in range(MESSAGES)}
    finally:
        for client in clients:
            client.send_signal(signal.SIGTERM)
        for client in clients:
            try:
                client.wait(timeout=10)
            except subprocess.TimeoutExpired:
                client.kill()
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=10)
        except subprocess.TimeoutExpired:
            hub.kill()

    db = sqlite3.connect(data / "hub.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        statuses = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
        assert statuses == {"delivered": statuses.get("delivered", 0)} and statuses
        assert db.execute("SELECT count(*) FROM receipts").fetchone()[0] == statuses["delivered"]
        orphans = db.execute(
            "SELECT count(*) FROM receipts r LEFT JOIN outbox o "
            "ON o.envelope_id = r.envelope_id WHERE o.seq IS NULL"
        )
        assert orphans.fetchone()[0] == 0
        # Every envelope queued has its disclosure entry, one to one, after the crash too.
        logged = {
            row[0]
            for row in db.execute("SELECT envelope_id FROM log_index WHERE kind = 'disclosure'")
        }
        queued = {row[0] for row in db.execute("SELECT envelope_id FROM outbox")}
        assert logged == queued
    finally:
        db.close()
    verified = subprocess.run(
        [str(BIN / "marac-hub"), "--data-dir", str(data), "log", "verify"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
