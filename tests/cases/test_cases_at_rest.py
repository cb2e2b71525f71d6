"""The SQLite database file and its WAL hold no victim's or perpetrator's personal data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from casekit import Db, referral, submit


async def test_no_names_dates_of_birth_or_addresses_on_disk(db: Db) -> None:
    if db.path is None:
        pytest.skip("reads the SQLite file")
    secrets: list[str] = []
    for n in range(25):
        victim = {
            "name": f"Victimname{n:02d} Qx",
            "date_of_birth": (date(1970, 1, 1) + timedelta(days=397 * n)).isoformat(),
            "address": f"{n} Secretstreet Lane",
            "ethnicity": "white_british",
        }
        perpetrator = {
            "name": f"Perpname{n:02d} Zy",
            "date_of_birth": (date(1960, 3, 3) + timedelta(days=401 * n)).isoformat(),
            "address": f"{n} Hiddenroad Close",
        }
        secrets += [victim["name"], victim["date_of_birth"], victim["address"]]
        secrets += [perpetrator["name"], perpetrator["date_of_birth"], perpetrator["address"]]
        await submit(db, referral(victim=victim, perpetrator=perpetrator))
    stored = b"".join(
        p.read_bytes() for p in db.path.parent.iterdir() if p.name.startswith(db.path.name)
    )
    assert db.path.with_name(db.path.name + "-wal").exists()
    assert b"Victimname" not in stored and b"Perpname" not in stored
    for secret in secrets:
        assert secret.encode() not in stored, secret
        assert secret.encode("utf-16-le") not in stored, secret
    assert b"Secretstreet" not in stored and b"Hiddenroad" not in stored
