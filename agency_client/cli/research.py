"""``agency-client research CASE --file F``: answer a research request, sealed to the hub."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir, data_dir
from hub.protocol.commands import lazy_module
from hub.protocol.errors import HubError, ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import outbound, sending
    from hub.protocol import envelope
    from hub.protocol.messages import ActionUpdate, ResearchResponse
else:
    outbound = lazy_module("agency_client.outbound")
    sending = lazy_module("agency_client.sending")
    envelope = lazy_module("hub.protocol.envelope")

__all__ = ["MAX_FILE_BYTES", "read_answer", "register", "send_built"]

HELP = "answer the newest research request for a case, sealed to the hub"
MAX_FILE_BYTES: Final = 1024 * 1024
M = TypeVar("M", "ResearchResponse", "ActionUpdate")


def register(sub: Any) -> None:
    """Add ``research``."""
    parser = sub.add_parser(
        "research",
        help=HELP,
        description=HELP + '. The file is JSON: {"nothing_known": false, "items": '
        '[{"text": ..., "kind": "fact"|"opinion", "recorded_on": "YYYY-MM-DD"}], '
        '"withheld": [{"description": ..., "reason": ...}]}',
    )
    parser.add_argument("case", metavar="CASE", help="the case reference")
    parser.add_argument("--file", type=Path, required=True, metavar="F", help="the answer (JSON)")
    add_dir(parser)
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def read_answer(path: Path) -> dict[str, Any]:
    """The answer file as a JSON object: at most 1 MiB of strict UTF-8 JSON."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise HubError(f"cannot read {path}: {exc.strerror}", code="bad-file") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ProtocolError(
            f"{path} is larger than {MAX_FILE_BYTES} bytes", code="payload-too-large"
        )
    try:
        doc = envelope.loads_strict(raw)
    except ProtocolError:
        raise ProtocolError(f"{path} is not valid UTF-8 JSON", code="malformed-json") from None
    if not isinstance(doc, dict):
        raise ProtocolError(f"{path} must hold a JSON object", code="wrong-type")
    return doc


def run(args: argparse.Namespace) -> int:
    """Build the response from the stored request, send it, print one line."""
    answer = read_answer(args.file)

    def build(store: Any, agency_id: str, now: datetime) -> ResearchResponse:
        return outbound.research_response(store, args.case, answer, agency_id=agency_id, now=now)

    message, sent = send_built(args, build)
    print(
        f"research response for case {message.case_ref} (request {message.request_id}) "
        f"sent as {sent['envelope_id']}" + (" (already received)" if sent.get("already") else "")
    )
    return 0


def send_built(args: argparse.Namespace, build: Callable[[Any, str, datetime], M]) -> tuple[M, Any]:
    """Unlock the data directory, ``build(store, agency_id, now)`` and send it to the hub."""
    return asyncio.run(_send(args, build))


async def _send(
    args: argparse.Namespace, build: Callable[[Any, str, datetime], M]
) -> tuple[M, Any]:
    data = data_dir(args)
    identity, store = await asyncio.to_thread(data.unlock, passphrase.read(args))
    with store:
        return await sending.send_built(identity, store, build)
