"""The delivery benchmark's workload through NHS England's MESH API, as run locally by the
PyPI package ``mesh-sandbox`` and driven by its official client ``mesh-client``.

Run from the repository root::

    .venv/bin/python bench/mesh.py                 # 50 notices x 20 agencies
    .venv/bin/python bench/mesh.py --messages 10   # quicker

The sandbox (``uvicorn mesh_sandbox.api:app``, one process on a free loopback port,
``STORE_MODE=file`` in a temporary directory with one mailbox per agency and one for the
sender, ``AUTH_MODE=full``: every request carries a MESH HMAC token) gets the same
workload as ``bench/delivery.py``: one sender mailbox sends each 2 048-byte notice to each
of 20 agency mailboxes (``send_message``), while 20 receivers (one thread each:
``mesh-client`` is synchronous) ``list_messages``, ``retrieve_message``, read and
``acknowledge_message`` until every message is acknowledged. Senders: 4 threads, as many
as the hub benchmark's coordinators. MESH sends one message per request and recipient and
neither encrypts nor signs (its transport is mutual TLS, absent here: plain HTTP on
loopback). Messages/s = acknowledged messages / (first send → last acknowledgement).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from _hubproc import free_port, percentile
from mesh_client import MeshClient

AGENCIES = 20
SENDERS = 4
SHARED_KEY = b"Banana"  # mesh-sandbox's default shared key for its auth tokens
PASSWORD = "password"  # the password mesh-sandbox gives mailboxes found as directories
WORKFLOW = "MARAC_NOTICE"


@dataclass
class MeshRun:
    """What one MESH run measured."""

    expected: int
    sent_at: dict[str, float] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rate(self) -> float:
        """Acknowledged messages per second."""
        wall = self.end - self.start
        return len(self.acked_at) / wall if wall > 0 else 0.0

    def latencies_ms(self) -> list[float]:
        """Per message: send → acknowledged, sorted."""
        return sorted(
            (self.acked_at[i] - self.sent_at[i]) * 1000 for i in self.acked_at if i in self.sent_at
        )


@contextlib.contextmanager
def sandbox(store: Path) -> Iterator[str]:
    """``mesh-sandbox`` under uvicorn on a free port; its base URL."""
    port = free_port()
    for name in ["SENDER01", *(f"AGENCY{i:02d}" for i in range(AGENCIES))]:
        (store / name).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "STORE_MODE": "file",
        "MAILBOXES_DATA_DIR": str(store),
        "AUTH_MODE": "full",
        "SHARED_KEY": SHARED_KEY.decode(),
    }
    uvicorn = [sys.executable, "-m", "uvicorn", "mesh_sandbox.api:app", "--port", str(port)]
    process = subprocess.Popen(
        [*uvicorn, "--log-level", "warning", "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _client(url: str, mailbox: str) -> MeshClient:
    return MeshClient(url, mailbox, PASSWORD, shared_key=SHARED_KEY, max_retries=0)


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("mesh-sandbox exited at start")
        try:
            with _client(url, "SENDER01") as client:
                client.handshake()
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError("mesh-sandbox did not answer within 30 s")


def run_mesh(notices: int, texts: list[bytes] | None = None, senders: int = SENDERS) -> MeshRun:
    """Send ``notices`` x 20 messages through a fresh sandbox; receive and acknowledge all."""
    texts = texts or [f"Notice {n:06d}. ".encode().ljust(2048, b"x") for n in range(notices)]
    run = MeshRun(expected=notices * AGENCIES)
    done = threading.Event()
    with tempfile.TemporaryDirectory(prefix="marac-mesh-") as tmp, sandbox(Path(tmp)) as url:
        receivers = [
            threading.Thread(target=_receive, args=(url, f"AGENCY{i:02d}", run, done))
            for i in range(AGENCIES)
        ]
        senders = [
            threading.Thread(target=_send, args=(url, texts[k::senders], run))
            for k in range(senders)
        ]
        run.start = time.perf_counter()
        for thread in (*receivers, *senders):
            thread.start()
        for thread in senders:
            thread.join()
        done.wait(300)
        done.set()
        for thread in receivers:
            thread.join()
    run.end = max(run.acked_at.values(), default=time.perf_counter())
    return run


def _send(url: str, texts: list[bytes], run: MeshRun) -> None:
    try:
        with _client(url, "SENDER01") as client:
            for text in texts:
                for i in range(AGENCIES):
                    started = time.perf_counter()
                    message_id = client.send_message(f"AGENCY{i:02d}", text, workflow_id=WORKFLOW)
                    with run.lock:
                        run.sent_at[message_id] = started
    except Exception as exc:
        run.errors.append(f"send: {type(exc).__name__}: {exc}")


def _receive(url: str, mailbox: str, run: MeshRun, done: threading.Event) -> None:
    try:
        with _client(url, mailbox) as client:
            while not done.is_set():
                ids = client.list_messages()
                if not ids:
                    time.sleep(0.01)
                    continue
                for message_id in ids:
                    message = client.retrieve_message(message_id)
                    message.read()
                    message.acknowledge()
                    with run.lock:
                        run.acked_at[message_id] = time.perf_counter()
                        if len(run.acked_at) >= run.expected:
                            done.set()
    except Exception as exc:
        run.errors.append(f"{mailbox}: {type(exc).__name__}: {exc}")
        done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50, help="notices, each to 20 agencies")
    args = parser.parse_args(argv)
    run = run_mesh(args.messages)
    lat = run.latencies_ms()
    print(
        f"MESH sandbox: {len(run.acked_at)} / {run.expected} acknowledged in "
        f"{run.end - run.start:.2f} s: {run.rate:,.0f} messages/s; p50 "
        f"{percentile(lat, 0.5):,.0f} ms, p99 {percentile(lat, 0.99):,.0f} ms"
        + (f"; errors: {run.errors[:3]}" if run.errors else "")
    )
    return 1 if run.errors or len(run.acked_at) < run.expected else 0


if __name__ == "__main__":
    raise SystemExit(main())
