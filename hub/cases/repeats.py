"""Repeat detection by blind index: the same victim and perpetrator within 12 months.

A person's match key is HMAC-SHA256, under a key derived from the hub's KEK, over the
normalised name (casefolded, punctuation dropped, whitespace collapsed) and date of
birth. The database holds only the keys; names never leave the ciphertext.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from hub.cases.tables import case_subjects, cases
from hub.hub_keys import HubKeys

__all__ = ["find_previous", "match_key", "normalise_name", "year_before"]


def normalise_name(name: str) -> str:
    """Casefolded, punctuation dropped, spaces collapsed: ``O'Brien,  ANN`` is ``obrien ann``."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = "".join(c for c in folded if c.isalnum() or c.isspace())
    return " ".join(kept.split())


def _match_secret(keys: HubKeys) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"marac-hub case match key v1"
    ).derive(keys.kek.raw())


def match_key(keys: HubKeys, name: str, date_of_birth: date | None) -> str:
    """The blind index of a person: hex HMAC-SHA256 of normalised name and date of birth."""
    born = date_of_birth.isoformat() if date_of_birth else ""
    message = normalise_name(name).encode() + b"\x00" + born.encode()
    return hmac.new(_match_secret(keys), message, hashlib.sha256).hexdigest()


def year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


async def find_previous(
    conn: AsyncConnection, victim_key: str, perpetrator_key: str, referred_on: date
) -> str | None:
    """The latest case of the same pair referred within the 12 months before ``referred_on``."""
    victim = aliased(case_subjects)
    perpetrator = aliased(case_subjects)
    row = (
        await conn.execute(
            select(cases.c.ref)
            .join(victim, and_(victim.c.case_ref == cases.c.ref, victim.c.role == "victim"))
            .join(
                perpetrator,
                and_(perpetrator.c.case_ref == cases.c.ref, perpetrator.c.role == "perpetrator"),
            )
            .where(
                victim.c.match_key == victim_key,
                perpetrator.c.match_key == perpetrator_key,
                cases.c.referred_on > year_before(referred_on),
                cases.c.referred_on <= referred_on,
            )
            .order_by(cases.c.referred_on.desc(), cases.c.created_at.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else str(row.ref)
