"""Arguments and helpers the client's subcommands share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.protocol.commands import lazy_module

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import datadir
    from agency_client.store import Store
else:
    datadir = lazy_module("agency_client.datadir")

__all__ = ["add_connection_arguments", "add_dir", "connection_options", "data_dir"]


def add_dir(parser: Any) -> None:
    """Add ``--dir``: the client's data directory."""
    parser.add_argument(
        "--dir",
        type=Path,
        required=True,
        help="the client's data directory (keys/ and store.sqlite3)",
    )


def data_dir(args: argparse.Namespace) -> datadir.DataDir:
    """The data directory named by ``--dir``."""
    return datadir.DataDir(args.dir)


def add_connection_arguments(parser: Any) -> None:
    """Add ``--ca-bundle`` and ``--allow-http``."""
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="PEM",
        help="trust these CA certificates for the hub instead of the system's",
    )
    parser.add_argument(
        "--allow-http",
        action="store_true",
        help="allow plain http:// to a hub that is not on this machine (testing only)",
    )


def connection_options(store: Store) -> dict[str, Any]:
    """``HubClient`` keyword arguments recorded at enrolment."""
    ca_bundle = store.config("ca_bundle")
    return {
        "ca_bundle": Path(ca_bundle) if ca_bundle else None,
        "allow_http": store.config("allow_http") == "1",
    }
