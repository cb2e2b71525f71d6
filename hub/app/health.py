"""Whether the hub can serve: the database answers."""

from __future__ import annotations

from sqlalchemy import text

from hub.app.runtime import Runtime

__all__ = ["database_answers"]


async def database_answers(rt: Runtime) -> None:
    """Run ``SELECT 1`` (an error propagates: the hub is not ready)."""
    async with rt.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
