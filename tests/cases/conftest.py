"""A migrated database (real SQLite and PostgreSQL), hub keys and referral builders."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.agencies import invite
from hub.cases.areas import add_area
from hub.crypto.at_rest import KeyEncryptionKey
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.hub_keys import HubKeys
from hub.storage.database import create_engine, migrate
from hub.testing import postgres_database

NOW = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)


def referral(**changes: Any) -> dict[str, Any]:
    """A valid referral (visible high risk, one child); ``changes`` replace top-level keys."""
    doc: dict[str, Any] = {
        "referring_agency": "police-north",
        "referred_on": "2026-09-01",
        "victim": {
            "name": "Alice Smith",
            "other_names": ["Alice Jones"],
            "date_of_birth": "1990-04-02",
            "gender": "female",
            "address": "1 High Street, Northtown",
            "ethnicity": "white_british",
            "disability": "no",
            "sexual_orientation": "heterosexual",
        },
        "perpetrator": {
            "name": "Bob Smith",
            "date_of_birth": "1988-01-20",
            "gender": "male",
            "address": "9 Low Road, Northtown",
            "relationship_to_victim": "ex-partner",
        },
        "children": [
            {"name": "Carl Smith", "date_of_birth": "2019-06-01", "school": "Northtown Primary"}
        ],
        "risk": {"tool": "DASH", "answers": ["yes"] * 15 + ["no"] * 7 + ["not_known"] * 2},
        "criterion": "visible_high_risk",
        "consent": {"status": "not_sought", "exception": "risk of serious harm"},
        "safe_contact": {"safe_to_contact": True, "phone": "07700 900123", "times": "mornings"},
        "perpetrator_must_not_know": True,
    }
    doc.update(copy.deepcopy(changes))
    return doc


def new_keys() -> HubKeys:
    """Hub keys made in memory."""
    return HubKeys(
        IdentityKeyPair.generate(), EncryptionKeyPair.generate(), KeyEncryptionKey.generate()
    )


@dataclass
class Db:
    """A migrated database with agencies police-north and idva-north, areas north and south."""

    engine: AsyncEngine
    keys: HubKeys
    kind: str
    path: Path | None


async def _seed(engine: AsyncEngine) -> None:
    for agency_id, kind in (("police-north", "police"), ("idva-north", "idva")):
        await invite(
            engine,
            agency_id=agency_id,
            name=agency_id,
            kind=kind,
            isp_version="2026.1",
            isp_signed_by="DMO",
            isp_signed_on=date(2026, 1, 1),
            now=NOW,
        )
    async with engine.begin() as conn:
        await add_area(conn, "north", "Northtown MARAC", now=NOW)
        await add_area(conn, "south", "Southtown MARAC", now=NOW, escalation_callouts=5)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Db]:
    """A seeded database on each engine (PostgreSQL skipped if no server answers)."""
    if request.param == "sqlite":
        path = tmp_path / "hub.sqlite3"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await _seed(engine)
        yield Db(engine, new_keys(), "sqlite", path)
        await engine.dispose()
        return
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    engine = create_engine(url)
    try:
        await migrate(engine)
        await _seed(engine)
        yield Db(engine, new_keys(), "postgresql", None)
    finally:
        await engine.dispose()
        await database.__aexit__(None, None, None)
