"""``marac-hub user add|list|revoke|passwd|reset-factors`` and ``marac-hub user token
new|list|revoke``."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.cli._context import add_by, require_initialised, settings_from, with_runtime
from hub.protocol.commands import lazy_choice, lazy_module
from hub.protocol.errors import HubError, ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from hub.app import second_factors as factor_app
    from hub.app import tokens as token_app
    from hub.app import users as user_app
else:
    factor_app = lazy_module("hub.app.second_factors")
    token_app = lazy_module("hub.app.tokens")
    user_app = lazy_module("hub.app.users")


def register(sub: Any) -> None:
    """Add ``user``."""
    parser = sub.add_parser("user", help="staff users and their tokens")
    actions = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user and print their token once")
    add.add_argument("name")
    add.add_argument("--role", required=True, **lazy_choice("hub.app.users", "ROLES", "ROLE"))
    _add_expiry(add)
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
    reset = actions.add_parser(
        "reset-factors",
        help="remove a user's second factors and recovery codes (a lost phone): they set "
        "up a new one at their next web sign-in",
    )
    reset.add_argument("name")
    add_by(reset, "who resets them")
    reset.set_defaults(handler=run_reset_factors, use_case="user.reset-factors")
    _register_tokens(actions)


def _add_expiry(parser: argparse.ArgumentParser) -> None:
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--expires-in",
        metavar="DURATION",
        type=_duration,
        help="the token expires after this long: 90d (the default), 12h, 4w; at most 366d",
    )
    when.add_argument(
        "--expires-on",
        metavar="YYYY-MM-DD",
        type=_day,
        help="the token expires at the start of this day (UTC)",
    )


def _register_tokens(actions: Any) -> None:
    parser = actions.add_parser("token", help="a member of staff's API tokens")
    tokens = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    new = tokens.add_parser("new", help="make an API token and print it once (admins)")
    new.add_argument("name", help="the member of staff it speaks for")
    _add_expiry(new)
    new.add_argument(
        "--role",
        **lazy_choice(
            "hub.app.users", "ROLES", "ROLE", "narrow it to this role (at most the user's)"
        ),
    )
    new.add_argument(
        "--area",
        dest="areas",
        action="append",
        metavar="AREA",
        help="narrow a coordinator's token to this area (repeat for more)",
    )
    new.add_argument("--label", help="what it is for (shown in the list)")
    add_by(new, "who makes it")
    new.set_defaults(handler=run_token_new, use_case="token.new")
    listing = tokens.add_parser("list", help="list a member of staff's tokens (no secrets)")
    listing.add_argument("name")
    add_by(listing, "who lists them (an admin, or the user themselves)")
    listing.set_defaults(handler=run_token_list, use_case="token.list")
    revoke = tokens.add_parser("revoke", help="revoke one token, or --all")
    revoke.add_argument("name")
    revoke.add_argument("token_id", nargs="?", metavar="ID", help="the token's id (from list)")
    revoke.add_argument("--all", action="store_true", help="every token of the user")
    add_by(revoke, "who revokes it (an admin, or the user themselves)")
    revoke.set_defaults(handler=run_token_revoke, use_case="token.revoke")


def _duration(text: str) -> timedelta:
    found = re.fullmatch(r"(\d{1,4})([hdw]?)", text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a duration such as 90d, 12h, 4w")
    count, unit = int(found.group(1)), found.group(2) or "d"
    span = {"h": timedelta(hours=count), "d": timedelta(days=count), "w": timedelta(weeks=count)}
    if not timedelta(hours=1) <= span[unit] <= timedelta(days=366):
        raise argparse.ArgumentTypeError("a token lives from 1h to 366d")
    return span[unit]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a date (YYYY-MM-DD)") from None


def _expires_at(args: argparse.Namespace) -> datetime | None:
    lifetime: timedelta | None = args.expires_in
    if lifetime is not None:
        return datetime.now(UTC) + lifetime
    if args.expires_on is not None:
        return datetime.combine(args.expires_on, time(), UTC)
    return None


def run_token_new(args: argparse.Namespace) -> int:
    """Make a token for a member of staff; print it once."""
    issued = with_runtime(
        args,
        lambda rt, who: token_app.new_token(
            rt,
            who,
            args.name,
            expires_at=_expires_at(args),
            role=args.role,
            areas=args.areas,
            label=args.label,
        ),
    )
    print(
        f"token {issued.id} for {args.name}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC "
        f"(shown once):\n{issued.token}"
    )
    return 0


def run_token_list(args: argparse.Namespace) -> int:
    """List a member of staff's tokens: id, state, scope, created, expires, last used."""
    found = with_runtime(args, lambda rt, who: token_app.list_user_tokens(rt, who, args.name))
    now = datetime.now(UTC)
    if not found:
        print(f"{args.name} has no tokens")
    for t in found:
        scope = t.role or "own role"
        if t.areas is not None:
            scope += " in " + ",".join(t.areas)
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        print(
            f"{t.id}  {t.state(now):<8} {scope:<24} created {t.created_at:%Y-%m-%d} "
            f"expires {t.expires_at:%Y-%m-%d %H:%M}  last used {used}  {t.label or ''}".rstrip()
        )
    return 0


def run_token_revoke(args: argparse.Namespace) -> int:
    """Revoke one token of a member of staff, or all of them."""
    if args.all == (args.token_id is not None):
        raise ProtocolError("name one token's ID or --all")
    token = None if args.all else args.token_id
    count = with_runtime(
        args, lambda rt, who: token_app.revoke_user_tokens(rt, who, args.name, token)
    )
    print(f"{count} token(s) of {args.name} revoked")
    return 0


def run_add(args: argparse.Namespace) -> int:
    """Add a user."""
    token = with_runtime(
        args,
        lambda rt, who: user_app.add_user(
            rt, who, args.name, args.role, expires_at=_expires_at(args)
        ),
    )
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
    if sys.stdin is None or not sys.stdin.isatty():  # stdin closed, or no terminal
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


def run_reset_factors(args: argparse.Namespace) -> int:
    """Remove a user's second factors; they are signed out and enrol again at sign-in."""
    removed = with_runtime(args, lambda rt, who: factor_app.reset_factors(rt, who, args.name))
    print(
        f"second factors of {args.name} reset ({removed} removed, recovery codes too); "
        "they are signed out and set up a new authenticator app at their next sign-in"
    )
    return 0
