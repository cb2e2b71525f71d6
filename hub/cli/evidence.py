"""``marac-hub log evidence ENTRY… [--out FILE]``: an evidence bundle for an investigator.

Calls the ``log.evidence`` use-case (``hub.app.evidence``) as ``--by USER`` (a DPO or an
admin) or as the host's operator; the bundle verifies offline with
``agency-client log verify-evidence FILE`` (docs/dpo.md).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hub.cli._context import add_by, with_runtime
from hub.protocol.errors import HubError

__all__ = ["register"]


def register(actions: Any) -> None:
    """Add ``log evidence`` to the ``log`` actions."""
    evidence = actions.add_parser(
        "evidence",
        help="an evidence bundle of entries, verifiable offline by an investigator",
        description="Write one file holding the entries (their logged bytes), an inclusion "
        "proof of each against one checkpoint, the checkpoint with its witnesses' "
        "cosignatures, the hub's and the witnesses' keys and a manifest, signed by the hub. "
        "Anyone checks it with 'agency-client log verify-evidence FILE'. Making it is logged.",
    )
    evidence.add_argument(
        "entries", nargs="+", metavar="ENTRY", help="an entry's index or an envelope id"
    )
    evidence.add_argument(
        "--out",
        metavar="FILE",
        help="file to write ('-': standard output; default: evidence-N.json here, N the "
        "index of the entry that logs the export)",
    )
    add_by(evidence, "who asks", alias=False)
    evidence.set_defaults(handler=run_evidence, use_case="log.evidence")


def _partial(folder: Path) -> Path:
    """An empty file in ``folder`` to write the bundle into: made before the bundle (and
    its log entry), so that a folder that cannot be written to is refused first."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".evidence-", suffix=".partial")
    except OSError as exc:
        raise HubError(f"cannot write {folder}: {exc.strerror}", code="bad-file") from None
    os.close(handle)
    return Path(name)


def _write(partial: Path, final: Path, data: bytes) -> None:
    """Write ``data`` to ``partial``, then move it to ``final``: whole or not at all."""
    try:
        with partial.open("wb") as sink:
            sink.write(data)
            sink.flush()
            os.fsync(sink.fileno())
        partial.replace(final)
    except OSError as exc:
        raise HubError(f"cannot write {final}: {exc.strerror}", code="bad-file") from None


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count} entries"


def run_evidence(args: argparse.Namespace) -> int:
    """Make the bundle, write it, say what it holds and what to check out of band."""
    from hub.app.evidence import log_evidence  # noqa: PLC0415 - the server's code, when run

    if args.out == "-":
        bundle = with_runtime(args, lambda rt, who: log_evidence(rt, who, args.entries))
        sys.stdout.buffer.write(bundle.data)
        sys.stdout.flush()
        return 0
    wanted = Path(args.out) if args.out else None
    partial = _partial(wanted.parent if wanted else Path.cwd())
    try:
        bundle = with_runtime(args, lambda rt, who: log_evidence(rt, who, args.entries))
        final = wanted or partial.with_name(bundle.filename)
        _write(partial, final, bundle.data)
    finally:
        partial.unlink(missing_ok=True)
    print(
        f"wrote {final}: {_entries(len(bundle.entries))} proved against the checkpoint of "
        f"size {bundle.checkpoint_size}, {bundle.witnesses} witness cosignatures; "
        f"the export is logged as entry {bundle.logged_as}"
    )
    print(f"SHA-256 of the file: {hashlib.sha256(bundle.data).hexdigest()}")
    print(
        "The investigator verifies it with: agency-client log verify-evidence "
        f"{final.name} --hub-key FINGERPRINT (the hub's fingerprint: 'marac-hub hub show', "
        "told to them by another channel)"
    )
    return 0
