"""Pseudonymous case refs ``M-2026-0001`` and subject ids ``S-`` + 12 base32 characters."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases.tables import case_sequences
from hub.storage.sql import upsert

__all__ = ["CASE_REF", "SUBJECT_ID", "new_subject_id", "next_case_ref"]

CASE_REF: Final = re.compile(r"^M-\d{4}-\d{4,6}$")
SUBJECT_ID: Final = re.compile(r"^S-[A-Z2-7]{12}$")


async def next_case_ref(conn: AsyncConnection, year: int) -> str:
    """The next ref for ``year``: one atomic upsert, so concurrent referrals never collide."""
    statement = (
        upsert(conn)(case_sequences)
        .values(year=year, last=1)
        .on_conflict_do_update(
            index_elements=[case_sequences.c.year], set_={"last": case_sequences.c.last + 1}
        )
        .returning(case_sequences.c.last)
    )
    number = (await conn.execute(statement)).scalar_one()
    return f"M-{year:04d}-{number:04d}"


def new_subject_id() -> str:
    """A random pseudonymous subject id (60 bits)."""
    return "S-" + base64.b32encode(secrets.token_bytes(10)).decode()[:12]
