"""``marac-hub backup DEST`` and ``marac-hub restore SRC``: the host operator's copy of a
hub (no ``--by``: not a staff use-case). See ``hub.app.backup`` and docs/deployment.md."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.cli._context import settings_from
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import backup as backup_app
else:
    backup_app = lazy_module("hub.app.backup")


def register(sub: Any) -> None:
    """Add ``backup`` and ``restore``."""
    take = sub.add_parser(
        "backup", help="a consistent copy of the database, keys and settings, while serving"
    )
    take.add_argument("dest", type=Path, help="a new or empty directory")
    take.set_defaults(handler=run_backup)
    back = sub.add_parser("restore", help="bring a backup back into an empty data directory")
    back.add_argument("source", type=Path, help="a directory marac-hub backup made")
    back.set_defaults(handler=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    """Take the backup; print what it holds and what it left out."""
    done = backup_app.backup(settings_from(args), args.dest)
    print(f"backed up to {done.dest} ({done.database}): {', '.join(done.files)}")
    for note in done.notes:
        print(f"note: {note}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore; print what came back and what is left to do."""
    done = backup_app.restore(settings_from(args), args.source)
    print(f"restored {args.source} into {done.data_dir}: {', '.join(done.files)}")
    for note in done.notes:
        print(f"note: {note}")
    return 0
