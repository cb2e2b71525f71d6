"""``marac-hub db upgrade|downgrade|current|history|check``: the database schema.

The host operator's commands (no ``--by``: they are not staff use-cases). They open the
database ``--data-dir`` / ``--database-url`` name without migrating it; every other
command (and ``serve``) brings the schema to head first, so after a ``db downgrade`` run
only the older hub's commands until the upgrade.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from hub.cli._context import settings_from
from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import schema
else:
    schema = lazy_module("hub.app.schema")


def register(sub: Any) -> None:
    """Add ``db``."""
    parser = sub.add_parser("db", help="the database schema: upgrade, downgrade, current, check")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="migrate the schema up (default: to head)")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    up.set_defaults(handler=run_upgrade)
    down = actions.add_parser("downgrade", help="migrate the schema down to REVISION")
    down.add_argument("revision", help="target revision (base: drop every table)")
    down.add_argument(
        "--yes", action="store_true", help="confirm: a downgrade drops what later revisions added"
    )
    down.set_defaults(handler=run_downgrade)
    current = actions.add_parser("current", help="the revision the database is at")
    current.set_defaults(handler=run_current)
    history = actions.add_parser("history", help="every migration, newest first")
    history.set_defaults(handler=run_history)
    check = actions.add_parser(
        "check", help="exit 1 unless the database is at head and its tables match the code's"
    )
    check.set_defaults(handler=run_check)


def run_upgrade(args: argparse.Namespace) -> int:
    """Migrate up; print where the schema was and is."""
    before, after = asyncio.run(schema.upgrade(settings_from(args), args.revision))
    if before.current == after.current:
        print(f"database already at {after.describe}")
    else:
        print(f"upgraded from {before.describe} to {after.describe}")
    return 0


def run_downgrade(args: argparse.Namespace) -> int:
    """Migrate down (only with ``--yes``); print where the schema was and is."""
    if not args.yes:
        print(
            f"marac-hub: a downgrade to {args.revision} drops the tables and columns later "
            "revisions added, with their data: back up first, then add --yes",
            file=sys.stderr,
        )
        return 2
    before, after = asyncio.run(schema.downgrade(settings_from(args), args.revision))
    if before.current == after.current:
        print(f"database already at {after.describe}")
    else:
        print(f"downgraded from {before.describe} to {after.describe}")
    return 0


def run_current(args: argparse.Namespace) -> int:
    """Print the database's revision and whether it is the newest."""
    print(asyncio.run(schema.state(settings_from(args), compare=False)).describe)
    return 0


def run_history(args: argparse.Namespace) -> int:
    """Print every migration, newest first (no database needed)."""
    for rev in schema.history():
        down = ", ".join(rev.down) or "base"
        print(f"{down} -> {rev.id}{' (head)' if rev.head else ''}  {rev.summary}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 if the schema is at head and matches the code's tables; else one line, 1."""
    state = asyncio.run(schema.state(settings_from(args)))
    if not state.at_head:
        print(f"marac-hub: database at {state.describe}: run marac-hub db upgrade", file=sys.stderr)
        return 1
    if state.differences:
        print(
            f"marac-hub: database at {state.describe} but its tables differ from the code's: "
            + "; ".join(state.differences),
            file=sys.stderr,
        )
        return 1
    print(f"database at {state.describe}; tables match the code's")
    return 0
