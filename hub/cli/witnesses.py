"""``marac-hub log checkpoint`` and ``marac-hub log witnesses``: the log's newest checkpoint
(a C2SP signed note with its cosignatures) and its witnesses.

``log checkpoint`` calls ``log.checkpoint``, ``log witnesses`` ``log.witnesses``
(``hub.app.witness``), as ``--by USER`` (a DPO or an admin) or as the host's operator.
``log witnesses`` exits 1 if a witness reported a fork alarm.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_module

if TYPE_CHECKING:
    from hub.app import witness as witness_app
else:
    witness_app = lazy_module("hub.app.witness")

__all__ = ["register"]

_PROBLEMS = {
    "inconsistent": "not consistent with",
    "smaller": "smaller than",
    "same-size-other-root": "another root at the size of",
    "bad-proof": "no valid proof from",
}


def register(actions: Any) -> None:
    """Add ``log checkpoint`` and ``log witnesses`` to the ``log`` actions."""
    checkpoint = actions.add_parser(
        "checkpoint",
        help="print the newest checkpoint (C2SP signed note) with its cosignatures",
    )
    add_by(checkpoint, "who asks", alias=False)
    checkpoint.set_defaults(handler=run_checkpoint, use_case="log.checkpoint")
    witnesses = actions.add_parser(
        "witnesses",
        help="the agencies witnessing the log, the quorum and any fork alarm",
        description="Each agency as a witness (kind, last checkpoint cosigned), whether the "
        "newest checkpoint has the policy's quorum, and every fork alarm a witness reported. "
        "Exit 1 if there is a fork alarm.",
    )
    add_by(witnesses, "who asks", alias=False)
    witnesses.set_defaults(handler=run_witnesses, use_case="log.witnesses")


def run_checkpoint(args: argparse.Namespace) -> int:
    """Print the note as the API serves it."""
    print(with_runtime(args, witness_app.log_checkpoint), end="")
    return 0


def run_witnesses(args: argparse.Namespace) -> int:
    """Print the witnesses and the alarms; 1 if there is an alarm."""
    status = with_runtime(args, witness_app.witness_status)
    quorum = status.quorum
    print(
        f"log {status.origin}: each checkpoint needs {quorum.describe()} "
        f"within {quorum.grace_minutes} minutes"
    )
    if status.newest_size is not None:
        state = "witnessed by a quorum" if status.newest_has_quorum else "not yet witnessed"
        largest = f"size {status.witnessed_size}" if status.witnessed_size is not None else "none"
        print(
            f"newest checkpoint: size {status.newest_size}, {state} (largest witnessed: {largest})"
        )
    for row in status.rows:
        last = (
            f"last cosigned size {row.last_size} at {row.last_cosigned_at:%Y-%m-%d %H:%M:%S} UTC"
            if row.last_size is not None and row.last_cosigned_at is not None
            else "never cosigned"
        )
        print(f"{row.agency_id} ({row.kind}): {last}")
    for alarm in status.alarms:
        print(
            f"FORK ALARM {alarm.reported_at:%Y-%m-%d %H:%M:%S} UTC, {alarm.agency_id}: offered "
            f"size {alarm.offered_size}, {_PROBLEMS.get(alarm.problem, alarm.problem)} the "
            f"checkpoint of size {alarm.cosigned_size} it cosigned"
        )
    if not status.alarms:
        print("no fork alarms")
    return 1 if status.alarms else 0
