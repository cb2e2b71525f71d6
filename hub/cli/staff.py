"""``marac-hub user add|list|revoke``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from hub import users
from hub.cli._context import require_initialised, settings_from, with_engine


def register(sub: Any) -> None:
    """Add ``user``."""
    parser = sub.add_parser("user", help="staff users and their tokens")
    actions = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user and print their token once")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.set_defaults(handler=run_add)
    actions.add_parser("list", help="list users").set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke a user's token")
    revoke.add_argument("name")
    revoke.set_defaults(handler=run_revoke)


def run_add(args: argparse.Namespace) -> int:
    """Add a user."""
    settings = settings_from(args)
    require_initialised(settings)
    token = with_engine(
        settings, lambda e: users.add_user(e, args.name, args.role, now=datetime.now(UTC))
    )
    print(f"{args.role} {args.name} added; token (shown once):\n{token}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List users."""
    settings = settings_from(args)
    require_initialised(settings)
    for user in with_engine(settings, users.list_users):
        state = "revoked" if user.revoked_at else "active"
        print(f"{user.name:<24} {user.role:<12} {state:<8} {user.created_at:%Y-%m-%d}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke a user."""
    settings = settings_from(args)
    require_initialised(settings)
    with_engine(settings, lambda e: users.revoke_user(e, args.name, now=datetime.now(UTC)))
    print(f"{args.name} revoked")
    return 0
