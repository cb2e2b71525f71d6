"""``marac-hub alerts``: what a coordinator must look at (expired envelopes, for now)."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli._context import require_initialised, settings_from, with_engine
from hub.storage.tables import alerts


def register(sub: Any) -> None:
    """Add ``alerts``."""
    parser = sub.add_parser("alerts", help="list open alerts (envelopes that expired undelivered)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print open alerts, oldest first."""
    settings = settings_from(args)
    require_initialised(settings)

    async def fetch(engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(alerts).where(alerts.c.resolved_at.is_(None)).order_by(alerts.c.id)
            )
            return list(rows)

    rows = with_engine(settings, fetch)
    for row in rows:
        print(
            f"{row.created_at:%Y-%m-%d %H:%M} {row.kind:<18} {row.agency_id or '-':<24} "
            f"{row.envelope_id or '-'}"
        )
    if not rows:
        print("no open alerts")
    return 0
