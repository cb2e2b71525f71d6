"""The SafeLives return counts a known set of referrals right."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from casekit import Db, pair, referral, submit

from hub.cases import mark_heard
from hub.cases.safelives import age_band, parse_quarter, safelives_csv
from hub.protocol.errors import ProtocolError


def person(name: str, **fields: str) -> dict[str, str]:
    return {"name": name, **fields}


async def test_counts_for_a_known_quarter(db: Db) -> None:
    child = {"name": "Kid"}
    await submit(db, pair("Alice Smith", "Bob Smith", "2026-07-05"))  # police, 1 child
    await submit(
        db,
        referral(
            referring_agency="idva-north",
            referred_on="2026-08-01",
            victim=person("Dee", gender=" Female ", date_of_birth="2008-01-01"),
            perpetrator=person("Ed"),
            children=[child, child],
        ),
    )
    await submit(db, pair("alice smith", "BOB SMITH", "2026-09-01", children=[]))  # repeat
    heard_in = await submit(
        db,
        referral(
            referring_agency="idva-north",
            referred_on="2026-06-20",
            victim=person("Eve", gender="male"),
            perpetrator=person("Fay"),
            children=[],
        ),
    )
    heard_later = await submit(
        db, referral(referred_on="2026-08-10", victim=person("Gil"), perpetrator=person("Hal"))
    )
    await submit(db, referral(referred_on="2026-07-20"), area="south")
    async with db.engine.begin() as conn:
        await mark_heard(conn, heard_in.case_ref, date(2026, 7, 10))
        await mark_heard(conn, heard_later.case_ref, date(2026, 10, 2))
        text = await safelives_csv(conn, db.keys, parse_quarter("2026Q3"))
        north_only = await safelives_csv(conn, db.keys, parse_quarter("2026Q3"), "north")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["quarter"] for r in rows} == {"2026Q3"}
    north = {(r["measure"], r["category"]): int(r["count"]) for r in rows if r["area"] == "north"}
    south = {(r["measure"], r["category"]): int(r["count"]) for r in rows if r["area"] == "south"}
    assert north == {
        ("cases", "total"): 4,
        ("repeats", "total"): 1,
        ("police_referrals", "total"): 2,
        ("non_police_referrals", "total"): 2,
        ("cases_with_children", "total"): 2,
        ("children", "total"): 3,
        ("referrals_by_source", "police"): 2,
        ("referrals_by_source", "idva"): 2,
        ("victim_gender", "female"): 3,
        ("victim_gender", "male"): 1,
        ("victim_ethnicity", "white_british"): 2,
        ("victim_ethnicity", "not_known"): 2,
        ("victim_disability", "no"): 2,
        ("victim_disability", "not_known"): 2,
        ("victim_sexual_orientation", "heterosexual"): 2,
        ("victim_sexual_orientation", "not_known"): 2,
        ("victim_age_band", "31_40"): 2,
        ("victim_age_band", "18_20"): 1,
        ("victim_age_band", "not_known"): 1,
    }
    assert south[("cases", "total")] == 1
    assert "south" not in north_only and north_only.count("\n") == len(north) + 1
    for secret in ("Alice", "Dee", "1990-04-02"):
        assert secret not in text


@pytest.mark.parametrize(
    "bad", ["2026Q5", "2026Q0", "2026-Q3", "26Q3", "1999Q1", "2026q3", "", "2026Q3 ", "Q3"]
)
def test_bad_quarters_are_refused(bad: str) -> None:
    with pytest.raises(ProtocolError):
        parse_quarter(bad)


def test_quarters_and_age_bands() -> None:
    q4 = parse_quarter("2026Q4")
    assert (q4.first, q4.after) == (date(2026, 10, 1), date(2027, 1, 1))
    on = date(2026, 7, 1)
    assert age_band(date(2010, 7, 2), on) == "under_16"
    assert age_band(date(2010, 7, 1), on) == "16_17"
    assert age_band(date(1950, 1, 1), on) == "71_plus"
    assert age_band(None, on) == "not_known"
