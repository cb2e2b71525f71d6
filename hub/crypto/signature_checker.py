"""Ed25519 verification of large batches in a helper process, off the event loop's thread.

Verifying one signature costs the hub's one thread about 0.07 ms; at full load, agencies
acknowledge 20 or more envelopes a request, and their receipts' signatures were a tenth
of the hub's CPU. :class:`SignatureChecker` sends a batch of at least ``min_batch`` to
one helper process over a socket and awaits the answer, so the event loop seals and serves
meanwhile on one core while the helper verifies on another. A batch of 20 costs the loop
about 0.3 ms in place of 1.3. A smaller batch (one agency acknowledging one envelope) is
verified inline: the round trip would cost more than it saves, and add latency.

The helper (:mod:`hub.crypto._signature_helper`, a script that imports libsodium's
bindings and nothing of the hub: some 15 MB) holds no secret. It gets
``(public key, signature, message)`` records and answers yes or no for each with the
libsodium call :meth:`IdentityPublicKey.verify` makes for such messages (only 64-byte
signatures and messages of up to :data:`HELPER_MESSAGE_MAX` bytes are sent), so both
give the same answer for every input. If the helper dies, its batches
are verified inline and it is started again on the next batch (at most once every
:data:`RESTART_SECONDS`). If requests pile up (more than :data:`MAX_IN_FLIGHT` bytes
unanswered, some 3,000 receipts), batches are verified inline until it catches up; one
not answered within :data:`ANSWER_SECONDS` is verified inline and the helper stopped.
Nothing waits on it for long, and nothing is refused because of it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Final

from hub.crypto import _signature_helper
from hub.crypto._signature_helper import RECORD
from hub.crypto.keys import IdentityPublicKey

__all__ = ["ANSWER_SECONDS", "MAX_IN_FLIGHT", "RESTART_SECONDS", "SignatureChecker"]

log = logging.getLogger(__name__)

MAX_IN_FLIGHT: Final = 1024 * 1024  # bytes sent, not answered (some 3,000 receipts)
RESTART_SECONDS: Final = 10.0
ANSWER_SECONDS: Final = 5.0  # a helper that takes longer is stopped, the batch done inline
_FRAME: Final = struct.Struct("!i")  # multiprocessing.connection's length prefix
_HELPER: Final = _signature_helper.__file__
# Longer messages are verified inline: keys.IdentityPublicKey.verify takes libsodium's
# path, as the helper does, up to 48 KiB (and gives the same verdict past it).
HELPER_MESSAGE_MAX: Final = 4096
_SIGNATURE: Final = 64

Triple = tuple[IdentityPublicKey, bytes, bytes]


class _HelperGone(Exception):
    """The helper died or its socket broke: verify inline."""


class SignatureChecker:
    """One helper process for batches of signatures (see the module docstring)."""

    def __init__(self, *, min_batch: int = 8) -> None:
        self.min_batch = min_batch
        self.sent = 0  # batches the helper verified (for tests and diagnostics)
        self.restarts = 0
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._pending: collections.deque[tuple[asyncio.Future[bytes], int]] = collections.deque()
        self._in_flight = 0
        self._started_at = -RESTART_SECONDS

    @property
    def running(self) -> bool:
        """True while a helper process is up."""
        return self._reading is not None

    def start(self) -> None:
        """Start the helper now (else the first large batch starts it)."""
        if self._reading is not None:
            return
        ours, theirs = socket.socketpair()
        # A fresh interpreter running the helper script alone (multiprocessing's spawn
        # would import the whole hub again): none of the hub's threads, sockets or keys.
        self._started_at = time.monotonic()
        try:
            with theirs:
                process = subprocess.Popen(
                    [sys.executable, "-P", _HELPER, str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                )
        except OSError as exc:  # no process to be had: inline, and try again later
            ours.close()
            log.warning("the signature checker could not start (%s); verifying inline", exc)
            return
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        opened.add_done_callback(_retrieved)  # it may fail with no batch waiting on it
        self._process, self._opened, self._socket = process, opened, ours
        self._reading = asyncio.create_task(self._read(ours, opened))

    async def _read(self, sock: socket.socket, opened: asyncio.Future[None]) -> None:
        """Hand each answer to the oldest batch waiting (the helper answers in order)."""
        try:
            reader, self._writer = await asyncio.open_unix_connection(sock=sock)
            if not opened.done():
                opened.set_result(None)
            while True:
                (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
                answers = await reader.readexactly(size)
                done, sent = self._pending.popleft()
                self._in_flight -= sent
                if not done.done():  # its caller may have gone away
                    done.set_result(answers)
        except asyncio.CancelledError:
            raise
        except (asyncio.IncompleteReadError, OSError, IndexError, struct.error):
            log.warning("the signature checker stopped; verifying inline, restarting it")
        finally:
            if not opened.done():
                opened.set_exception(_HelperGone())
            if self._reading is asyncio.current_task():
                self._reading = None
                self._broken()

    async def verify(self, triples: Sequence[Triple]) -> list[bool]:
        """For each ``(key, signature, message)``: does ``key`` sign ``message`` so?"""
        if len(triples) < self.min_batch:
            return _inline(triples)
        if any(len(message) > HELPER_MESSAGE_MAX for _, _, message in triples):
            return _inline(triples)  # the helper runs libsodium's path only
        payload = b"".join(
            RECORD.pack(key.raw, signature, len(message)) + message
            for key, signature, message in triples
            if len(signature) == _SIGNATURE
        )
        if not payload or self._in_flight + len(payload) > MAX_IN_FLIGHT or not self._ready():
            return _inline(triples)
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                await asyncio.shield(self._opened)  # shared: a caller leaving must not end it
                writer = self._writer
                if writer is None:
                    raise _HelperGone()
                self._pending.append((done, len(payload)))
                self._in_flight += len(payload)
                writer.write(_FRAME.pack(len(payload)) + payload)  # buffered: never blocks
                answers = await done
            merged = _merge(triples, answers)
        except (_HelperGone, OSError, TimeoutError, ValueError):
            log.warning("the signature checker failed a batch; verifying it inline")
            self._broken()
            return _inline(triples)
        self.sent += 1
        return merged

    def _ready(self) -> bool:
        if self._reading is not None:
            return True
        if time.monotonic() - self._started_at < RESTART_SECONDS:
            return False  # it died a moment ago: inline for a while
        if self._process is not None:
            self.restarts += 1
        self.start()
        return self._reading is not None

    def _broken(self, *, grace: float = 0.0) -> None:
        """Forget the helper (stopped within ``grace`` seconds, else killed); whoever
        waits on it verifies inline."""
        reading, writer, process, sock = self._reading, self._writer, self._process, self._socket
        self._reading = self._writer = self._socket = None
        if reading is not None and reading is not asyncio.current_task():
            reading.cancel()
        if writer is not None:
            writer.close()
        if sock is not None:
            with contextlib.suppress(OSError):  # now, not when the transport closes:
                sock.shutdown(socket.SHUT_RDWR)  # the helper reads end of file and exits
        if process is not None:
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        while self._pending:
            done, _ = self._pending.popleft()
            if not done.done():
                done.set_exception(_HelperGone())
        self._in_flight = 0

    def close(self) -> None:
        """Stop the helper (the application is stopping); later batches go inline."""
        self._broken(grace=1.0)
        self._started_at = float("inf")  # never again


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def _inline(triples: Sequence[Triple]) -> list[bool]:
    return [key.verify(signature, message) for key, signature, message in triples]


def _merge(triples: Sequence[Triple], answers: bytes) -> list[bool]:
    """The helper's answers for the triples it was sent; a wrong-sized signature, never
    sent, is False (as ``verify`` says). ``ValueError`` if the count is wrong."""
    sent = [len(signature) == _SIGNATURE for _, signature, _ in triples]
    if len(answers) != sum(sent):
        raise ValueError("the signature checker answered the wrong number")
    found = iter(answers)
    return [ok and next(found) == 1 for ok in sent]
