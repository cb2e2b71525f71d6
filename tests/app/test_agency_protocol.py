"""The agency's side of the protocol (``hub.app.mailbox``, ``hub.app.inbound``,
``hub.app.tokens``): the API's agency doors call it and no lower layer."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.app.mailbox import check_caller, keep_nonce, prune_nonces, remember_nonce
from hub.crypto.request_signing import WINDOW
from hub.delivery.tables import nonces
from hub.protocol.errors import CryptoError, PolicyError
from hub.storage.engine import create_engine
from hub.storage.schema import migrate

DOORS = ["auth.py", "routes_agency.py", "routes_inbound.py", "routes_schemas.py"]
LOWER = (
    "hub.cases",
    "hub.meetings",
    "hub.disclosure",
    "hub.log",
    "hub.policy",
    "hub.delivery",
    "hub.agencies",
    "hub.users",
    "hub.storage",
    "hub.inbound",
    "hub.adapters",
)


@pytest.mark.parametrize("door", DOORS)
def test_agency_doors_import_no_lower_layer(door: str) -> None:
    source = Path(__file__).resolve().parents[2] / "hub" / "service" / door
    imported = [
        node.module or ""
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.ImportFrom)
    ]
    assert [m for m in imported if m == "hub" or m.startswith(LOWER)] == []


async def test_nonces_are_kept_once_and_pruned_after_twice_the_window(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite3'}")
    try:
        await migrate(engine)
        now = datetime(2026, 12, 6, 12, tzinfo=UTC)
        old = now - 2 * WINDOW - timedelta(seconds=2)
        await remember_nonce(engine, "police", "n-old", old)
        await remember_nonce(engine, "police", "n-new", now - WINDOW)
        with pytest.raises(CryptoError) as replay:
            await remember_nonce(engine, "police", "n-new", now)
        assert replay.value.code == "replayed-request"
        async with engine.begin() as conn:  # another agency's nonce is its own
            await keep_nonce(conn, "probation", "n-new", now)
        await prune_nonces(engine, now)
        async with engine.connect() as conn:
            counted = select(nonces.c.nonce, func.count()).group_by(nonces.c.nonce)
            left = (await conn.execute(counted)).all()
        assert dict(left) == {"n-new": 2}
    finally:
        await engine.dispose()


def test_an_unknown_agency_is_refused_before_its_signature_is_read() -> None:
    with pytest.raises(PolicyError) as refused:
        check_caller(None, "f" * 64, {}, "GET", "/api/v1/mailbox", "", b"", now=datetime.now(UTC))
    assert refused.value.code == "unknown-agency"
