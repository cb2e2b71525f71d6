"""``agency-client witness``: witness the hub's log once: cosign its newest checkpoint if it
extends the last one this agency cosigned, or refuse and report a fork or rollback."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from agency_client.cli import passphrase
from agency_client.cli._common import add_dir, connection_options, data_dir
from hub.protocol.commands import lazy_module

# Imported when the command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    from agency_client import store as client_store
else:
    client_store = lazy_module("agency_client.store")

HELP = "witness the hub's log: cosign its newest checkpoint, or report a fork"


def register(sub: Any) -> None:
    """Add ``witness``."""
    parser = sub.add_parser(
        "witness",
        help=HELP,
        description="Fetch the hub's newest checkpoint, check the pinned hub key signed it "
        "and that it extends the last checkpoint this agency cosigned (a consistency proof), "
        "then cosign it with the agency's identity key and post the cosignature. A checkpoint "
        "that is smaller than, or inconsistent with, the one cosigned before is never "
        "cosigned: it is reported to the hub and here. Exit 0 when cosigned or nothing new; "
        "1 on a fork or rollback (one line on stderr); 2 if the hub could not be reached.",
    )
    add_dir(parser)
    passphrase.add_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Witness once; print what happened."""
    data = data_dir(args)
    if not data.enrolled():
        raise client_store.StoreError(
            f"{args.dir} is not enrolled: run 'agency-client enrol' first"
        )
    return asyncio.run(_witness(args))


async def _witness(args: argparse.Namespace) -> int:
    from agency_client.hub_client import HubClient  # noqa: PLC0415 - aiohttp only when needed
    from agency_client.witness import FORK, UNREACHABLE, Witness  # noqa: PLC0415

    identity, store = await asyncio.to_thread(data_dir(args).unlock, passphrase.read(args))
    with store:
        hub_key = store.hub_key()
        if hub_key is None:
            raise client_store.StoreError(f"{args.dir} has no pinned hub key: enrol first")
        async with HubClient(
            store.require_config("hub_url"),
            store.require_config("agency_id"),
            identity,
            **connection_options(store),
        ) as client:
            outcome = await Witness(client, store, identity, hub_key).step()
    if outcome.kind == FORK:
        print(f"agency-client: LOG FORK: {outcome.message}", file=sys.stderr)
        print(
            "agency-client: the checkpoint was NOT cosigned; tell the hub's DPO and your "
            "information governance lead (see docs/agencies.md, 'Witnessing the log')",
            file=sys.stderr,
        )
        return 1
    if outcome.kind == UNREACHABLE:
        print(f"agency-client: not witnessed, retry later: {outcome.message}", file=sys.stderr)
        return 2
    print(outcome.message)
    return 0
