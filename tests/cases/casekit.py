"""Helpers of the case tests: a seeded database, hub keys, referral builders, submit."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.agencies import invite
from hub.cases import parse_referral, refer
from hub.cases.areas import add_area
from hub.cases.store import Referred
from hub.crypto.at_rest import KeyEncryptionKey
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.hub_keys import HubKeys

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


async def seed(engine: AsyncEngine) -> None:
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


async def submit(db: Db, doc: dict[str, Any], area: str = "north") -> Referred:
    async with db.engine.begin() as conn:
        return await refer(
            conn,
            db.keys,
            parse_referral(doc, today=NOW.date()),
            area=area,
            actor="coordinator:casey",
            now=NOW,
        )


def pair(victim: str, perpetrator: str, on: str, **changes: Any) -> dict[str, Any]:
    base = referral()
    return referral(
        referred_on=on,
        victim={**base["victim"], "name": victim},
        perpetrator={**base["perpetrator"], "name": perpetrator},
        **changes,
    )
