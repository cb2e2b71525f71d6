"""Sinks: where the client hands each decrypted message once it is stored.

A sink's ``hand`` returns True when the message is taken. False (or an exception)
leaves it marked not handed; the runner offers it again on its next cycle and after a
restart, so a sink sees each message at least once and, because the runner marks a
message handed as soon as the sink takes it, normally exactly once.

Specs on the command line: ``folder:DIR``, ``stdout``, ``command:CMD``.

A sink is handed the message JSON (``StoredMessage.to_json``: envelope id, type, sender,
times and the payload). A message the hub rendered in the agency's format (FHIR R4,
POLE) is handed as its document alone, exactly as rendered (see
:mod:`agency_client.rendered`), so the agency's system can import it directly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Final, Protocol, TextIO

from agency_client.rendered import content_of
from agency_client.store import StoredMessage
from hub.protocol.errors import HubError

__all__ = ["CommandSink", "FolderSink", "Sink", "SinkError", "StdoutSink", "parse_sink"]

log = logging.getLogger(__name__)

COMMAND_TIMEOUT: Final = 120.0


class SinkError(HubError):
    """A sink specification that cannot be used."""

    default_code = "bad-sink"


class Sink(Protocol):
    """Takes one decrypted message; True if taken."""

    async def hand(self, message: StoredMessage) -> bool:
        """Hand ``message`` on; False (or raise) to have it offered again later."""
        ...


def _message_bytes(message: StoredMessage) -> bytes:
    """The message JSON, or a rendered message's document as it is."""
    content = content_of(message.info.type, message.payload)
    body = message.to_json() if content.format == "json" else content.document
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


class FolderSink:
    """Writes ``<envelope_id>.json`` into a folder, atomically (temp file + rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def hand(self, message: StoredMessage) -> bool:
        """Write the message file."""
        await asyncio.to_thread(self._write, message.info.envelope_id, _message_bytes(message))
        return True

    def _write(self, envelope_id: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{envelope_id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp: owner-only (0600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.folder / f"{envelope_id}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class StdoutSink:
    """Prints each message as one JSON line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def hand(self, message: StoredMessage) -> bool:
        """Print the message."""
        stream = self.stream or sys.stdout
        stream.write(_message_bytes(message).decode() + "\n")
        stream.flush()
        return True


class CommandSink:
    """Runs a command (no shell) with the message JSON on stdin; exit 0 means taken.

    The command also gets ``MARAC_ENVELOPE_ID``, ``MARAC_MESSAGE_TYPE`` (a rendered
    message's original type) and ``MARAC_FORMAT`` (``json``, ``fhir-r4``, ``pole``, ...)
    in its environment. A non-zero exit, or running longer than ``timeout``, is not taken.
    """

    def __init__(self, command: str, *, timeout: float = COMMAND_TIMEOUT) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise SinkError("command: needs a command to run")
        self.timeout = timeout

    async def hand(self, message: StoredMessage) -> bool:
        """Run the command once for this message."""
        content = content_of(message.info.type, message.payload)
        env = {
            **os.environ,
            "MARAC_ENVELOPE_ID": message.info.envelope_id,
            "MARAC_MESSAGE_TYPE": content.message_type,
            "MARAC_FORMAT": content.format,
        }
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.PIPE, env=env
            )
        except OSError as exc:
            log.warning("sink command cannot start: %s", exc.strerror)
            return False
        try:
            await asyncio.wait_for(process.communicate(_message_bytes(message)), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            log.warning("sink command timed out on %s", message.info.envelope_id)
            return False
        if process.returncode != 0:
            log.warning(
                "sink command exited %s on %s; will retry",
                process.returncode,
                message.info.envelope_id,
            )
            return False
        return True


def parse_sink(spec: str) -> Sink:
    """``folder:DIR``, ``stdout`` or ``command:CMD``."""
    kind, _, rest = spec.partition(":")
    if kind == "stdout" and not rest:
        return StdoutSink()
    if kind == "folder" and rest:
        return FolderSink(Path(rest).expanduser())
    if kind == "command" and rest:
        return CommandSink(rest)
    raise SinkError(f"unknown sink {spec!r}: use folder:DIR, stdout or command:CMD")
