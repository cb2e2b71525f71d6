"""``marac-hub user add|list|revoke|passwd``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from hub.app import users as user_app
from hub.cli._context import add_by, require_initialised, settings_from, with_runtime
from hub.protocol.errors import HubError, ProtocolError


def register(sub: Any) -> None:
    """Add ``user``."""
    parser = sub.add_parser("user", help="staff users and their tokens")
    actions = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user and print their token once")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=user_app.ROLES)
    add_by(add, "who adds them")
    add.set_defaults(handler=run_add, use_case="user.add")
    listing = actions.add_parser("list", help="list users")
    add_by(listing, "who lists them")
    listing.set_defaults(handler=run_list, use_case="user.list")
    revoke = actions.add_parser("revoke", help="revoke a user's token")
    revoke.add_argument("name")
    add_by(revoke, "who revokes them")
    revoke.set_defaults(handler=run_revoke, use_case="user.revoke")
    passwd = actions.add_parser("passwd", help="set a user's web sign-in password")
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-file", type=Path, help="read the password from the first line of this file"
    )
    add_by(passwd, "who sets it")
    passwd.set_defaults(handler=run_passwd, use_case="user.passwd")


def run_add(args: argparse.Namespace) -> int:
    """Add a user."""
    token = with_runtime(args, lambda rt, who: user_app.add_user(rt, who, args.name, args.role))
    print(f"{args.role} {args.name} added; token (shown once):\n{token}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List users."""
    for user in with_runtime(args, user_app.list_users):
        state = "revoked" if user.revoked_at else "active"
        print(f"{user.name:<24} {user.role:<12} {state:<8} {user.created_at:%Y-%m-%d}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke a user."""
    with_runtime(args, lambda rt, who: user_app.revoke_user(rt, who, args.name))
    print(f"{args.name} revoked")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            with args.password_file.open(encoding="utf-8") as source:
                line: str = source.readline(1024)
                return line.rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise HubError(f"cannot read {args.password_file}: {exc}", code="malformed") from None
    if not sys.stdin.isatty():
        raise ProtocolError("no terminal to ask for the password: use --password-file")
    first = getpass.getpass("New web password: ")
    if getpass.getpass("Again: ") != first:
        raise ProtocolError("the two passwords differ")
    return first


def run_passwd(args: argparse.Namespace) -> int:
    """Set a user's web password (Argon2id); their open web sessions end."""
    require_initialised(settings_from(args))
    password = _read_password(args)
    with_runtime(args, lambda rt, who: user_app.set_password(rt, who, args.name, password))
    print(f"web password set for {args.name}")
    return 0
