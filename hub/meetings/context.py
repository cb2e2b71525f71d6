"""The disclosure context for the API (from the running application) and for the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.disclosure import DisclosureContext
from hub.hub_keys import HubKeys
from hub.policy.bases import basis_ids
from hub.policy.policy import load_policy
from hub.service.appkeys import KEYS, POLICY, SETTINGS
from hub.settings import Settings

__all__ = ["cli_context", "disclosure_context"]


def disclosure_context(app: web.Application, now: datetime | None = None) -> DisclosureContext:
    """The running hub's keys, settings and policy, at ``now``."""
    return DisclosureContext(app[KEYS], app[SETTINGS], app[POLICY], now or datetime.now(UTC))


async def cli_context(
    conn: AsyncConnection, settings: Settings, keys: HubKeys, now: datetime | None = None
) -> DisclosureContext:
    """The same for a command: the policy file is loaded and checked against the bases."""
    policy = load_policy(settings.policy_file, basis_ids=await basis_ids(conn))
    return DisclosureContext(keys, settings, policy, now or datetime.now(UTC))
