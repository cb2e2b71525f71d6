"""Repeat detection: same victim and perpetrator within 12 months, in any area."""

from __future__ import annotations

from casekit import Db, pair, referral, submit

from hub.cases import list_cases, load_case


async def test_the_same_pair_within_a_year_is_a_repeat(db: Db) -> None:
    first = await submit(db, pair("Alice Smith", "Bob Smith", "2026-01-10"))
    again = await submit(db, pair("  ALICE   smith", "bob  SMITH.", "2026-09-01"))
    assert (again.is_repeat, again.previous_ref) == (True, first.case_ref)
    third = await submit(db, pair("alice smith", "Bob Smith", "2026-09-02", criterion="repeat"))
    assert third.previous_ref == again.case_ref  # the latest referral of the pair
    async with db.engine.connect() as conn:
        case = await load_case(conn, db.keys, again.case_ref)
        assert case.criteria == ("visible_high_risk", "repeat") and case.is_repeat
        listed = {c.ref: c for c in await list_cases(conn, "north")}
        assert listed[third.case_ref].criterion == "repeat"


async def test_a_different_perpetrator_is_not_a_repeat(db: Db) -> None:
    await submit(db, pair("Alice Smith", "Bob Smith", "2026-01-10"))
    other = await submit(db, pair("Alice Smith", "Rob Smith", "2026-02-10"))
    assert not other.is_repeat and other.previous_ref is None


async def test_a_different_birth_date_is_not_the_same_person(db: Db) -> None:
    await submit(db, pair("Alice Smith", "Bob Smith", "2026-01-10"))
    base = referral()
    doc = pair("Alice Smith", "Bob Smith", "2026-02-10")
    doc["victim"] = {**base["victim"], "date_of_birth": "1991-04-02"}
    assert not (await submit(db, doc)).is_repeat


async def test_after_twelve_months_it_is_a_new_referral(db: Db) -> None:
    await submit(db, pair("Alice Smith", "Bob Smith", "2025-08-01"))
    later = await submit(db, pair("Alice Smith", "Bob Smith", "2026-09-01"))
    assert not later.is_repeat
    edge = await submit(db, pair("Dee Jones", "Ed Jones", "2025-09-01"))
    year_on = await submit(db, pair("Dee Jones", "Ed Jones", "2026-09-01"))
    assert not year_on.is_repeat, edge
    day_inside = await submit(db, pair("Fay Lee", "Gus Lee", "2025-09-02"))
    assert (await submit(db, pair("Fay Lee", "Gus Lee", "2026-09-01"))).previous_ref == (
        day_inside.case_ref
    )


async def test_a_victim_who_moves_is_recognised_in_another_area(db: Db) -> None:
    first = await submit(db, pair("Alice Smith", "Bob Smith", "2026-03-01"), area="north")
    moved = await submit(db, pair("Alice Smith", "Bob Smith", "2026-08-01"), area="south")
    assert (moved.is_repeat, moved.previous_ref) == (True, first.case_ref)
