"""Referral, case view, listing and case-keyed encryption on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from casekit import Db, referral, submit
from sqlalchemy import func, select

from hub.cases import (
    decrypt_for_case,
    encrypt_for_case,
    find_subject_ids,
    list_cases,
    load_case,
    mark_heard,
)
from hub.cases.tables import case_subjects, cases
from hub.protocol.errors import HubError
from hub.protocol.messages import BasisRef, CaseExtract


async def test_referral_round_trips_into_a_case_extract(db: Db) -> None:
    done = await submit(db, referral())
    assert done.case_ref == "M-2026-0001"
    assert (done.is_repeat, done.previous_ref, done.yes_count, done.level) == (
        False,
        None,
        15,
        "high",
    )
    async with db.engine.connect() as conn:
        case = await load_case(conn, db.keys, done.case_ref)
    assert case.area == "north" and case.status == "referred"
    assert case.has_children and case.perpetrator_must_not_know
    assert case.consent == "not_sought" and len(case.subject_ids) == 3
    view = case.view
    assert view["victim"]["name"] == "Alice Smith" and view["victim"]["role"] == "victim"
    assert view["perpetrator"]["relationship_to_victim"] == "ex-partner"
    assert view["children"][0]["school"] == "Northtown Primary"
    assert view["risk"]["answers"][:1] == [True] and view["risk"]["answers"][-1] is None
    assert view["referral"]["consent_exception"] == "risk of serious harm"
    assert view["safe_contact"]["phone"] == "07700 900123"
    extract = CaseExtract(
        case_ref=case.ref,
        purpose="case_extract",
        policy_version="1",
        lawful_basis=BasisRef(id="s115", version=1),
        **view,
    )
    assert extract.victim is not None and extract.victim.date_of_birth == date(1990, 4, 2)


async def test_professional_judgement_raises_the_level(db: Db) -> None:
    answers = ["yes"] * 3 + ["no"] * 21
    done = await submit(
        db,
        referral(
            risk={"tool": "DARA", "answers": answers},
            criterion="professional_judgement",
            rationale="escalating stalking",
        ),
    )
    assert (done.yes_count, done.level) == (3, "high")


async def test_refs_are_unique_under_concurrent_referrals(db: Db) -> None:
    found = await asyncio.gather(*(submit(db, referral()) for _ in range(8)))
    refs = sorted(d.case_ref for d in found)
    assert refs == [f"M-2026-{n:04d}" for n in range(1, 9)]
    done = await submit(db, referral(referred_on="2025-12-31"))
    assert done.case_ref == "M-2025-0001"


async def test_list_flags_children_first_and_decrypts_nothing(db: Db) -> None:
    first = await submit(db, referral(children=[]))
    second = await submit(db, referral(victim={"name": "Dee"}, perpetrator={"name": "Ed"}))
    async with db.engine.begin() as conn:
        listed = await list_cases(conn, "north")
        assert [c.ref for c in listed] == [second.case_ref, first.case_ref]
        assert listed[0].has_children and not listed[1].has_children
        assert await list_cases(conn, "south") == []
        await mark_heard(conn, first.case_ref, date(2026, 9, 20))
        assert [c.ref for c in await list_cases(conn, "north", "heard")] == [first.case_ref]


async def test_subject_ids_are_found_by_name_and_birth(db: Db) -> None:
    done = await submit(db, referral())
    async with db.engine.connect() as conn:
        case = await load_case(conn, db.keys, done.case_ref)
        found = await find_subject_ids(conn, db.keys, "  alice   SMITH ", date(1990, 4, 2))
        assert found == [case.view["victim"]["subject_id"]]
        assert await find_subject_ids(conn, db.keys, "Alice Smith", date(1990, 4, 3)) == []


async def test_other_modules_encrypt_under_the_case_key(db: Db) -> None:
    done = await submit(db, referral())
    async with db.engine.connect() as conn:
        blob = await encrypt_for_case(conn, db.keys, done.case_ref, "research:1", b"secret")
        assert b"secret" not in blob
        assert await decrypt_for_case(conn, db.keys, done.case_ref, "research:1", blob) == b"secret"
        with pytest.raises(HubError):
            await decrypt_for_case(conn, db.keys, done.case_ref, "research:2", blob)
        with pytest.raises(HubError) as missing:
            await load_case(conn, db.keys, "M-2026-9999")
        assert missing.value.code == "not-found"


async def test_a_failed_referral_saves_nothing(db: Db) -> None:
    with pytest.raises(HubError) as refused:
        await submit(db, referral(referring_agency="nobody"))
    assert refused.value.code == "invalid-referral"
    assert "referring_agency" in refused.value.message
    async with db.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(cases)) == 0
        assert await conn.scalar(select(func.count()).select_from(case_subjects)) == 0
