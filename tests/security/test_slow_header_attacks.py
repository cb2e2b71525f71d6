"""Slow headers (issue 23): a client that sends its request line and headers a byte every
few seconds held a connection (and its memory) for an hour, aiohttp's default keep-alive
limit, which is all that ever closed it. ``marac-hub serve`` now gives a request's headers
``header_read_seconds`` to arrive. A real ``marac-hub serve`` process on loopback."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from scaleout.scaleout_helpers import MARAC_HUB, Served, env_for, free_port, init, wait_ready

LIMIT = 1.5  # seconds: MARAC_HUB_HEADER_READ_SECONDS for the served hub


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``marac-hub serve`` with a short header limit."""
    data = tmp_path_factory.mktemp("slow") / "hub"
    init(data, None)
    port = free_port()
    env = {**env_for(None), "MARAC_HUB_HEADER_READ_SECONDS": str(LIMIT)}
    log_path = data / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [MARAC_HUB, "--data-dir", str(data), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        served = Served(f"http://127.0.0.1:{port}", process)
        try:
            wait_ready(served, log_path)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _connect(served: Served) -> socket.socket:
    port = int(served.url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=LIMIT * 10)


def _closed(sock: socket.socket) -> bool:
    """True if the server has closed the connection (a read gives nothing, or a reset)."""
    sock.setblocking(False)
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def test_headers_trickled_a_byte_at_a_time_are_cut_off(served: Served) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: " + b"a" * 200
    started = time.monotonic()
    with _connect(served) as sock:
        for byte in request:  # one byte every tenth of a second, never the blank line
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break  # cut off while sending
            if _closed(sock):
                break
            time.sleep(0.1)
            assert time.monotonic() - started < LIMIT * 4, "the trickle was never cut off"
        else:
            pytest.fail("the server read 200 trickled header bytes without cutting off")
    assert LIMIT * 0.8 <= time.monotonic() - started < LIMIT * 4


def test_a_connection_that_sends_nothing_is_closed_too(served: Served) -> None:
    started = time.monotonic()
    with _connect(served) as sock, contextlib.suppress(OSError):
        assert sock.recv(100) == b""  # blocks until the server closes
    assert time.monotonic() - started < LIMIT * 4


def test_a_request_sent_in_time_is_answered_as_before(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"ok"' in answer
