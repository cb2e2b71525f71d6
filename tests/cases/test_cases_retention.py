"""Retention destroys case keys past the area's period, except under legal hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from casekit import Db, pair, referral, submit
from sqlalchemy import select

from hub.cases import decrypt_for_case, encrypt_for_case, find_subject_ids, list_cases, load_case
from hub.cases.areas import set_area
from hub.cases.retention import retention_due, run_retention
from hub.cases.store import set_hold
from hub.cases.tables import case_subjects
from hub.crypto import merkle
from hub.log import parse_entry
from hub.log import store as log_store
from hub.protocol.errors import HubError

ADMIN = "admin:ada"  # whoever runs retention is named in the log


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


async def test_keys_are_destroyed_after_six_years_unless_held(db: Db) -> None:
    old = await submit(db, referral())
    held = await submit(db, pair("Dee Jones", "Ed Jones", "2026-09-01"))
    async with db.engine.begin() as conn:
        note = await encrypt_for_case(conn, db.keys, old.case_ref, "action:1", b"note")
        await set_hold(conn, db.keys, held.case_ref, "domestic homicide review")
        early = await run_retention(conn, now=at("2032-08-31"), actor=ADMIN)
        assert early.destroyed == [] and early.held == []
        dry = await run_retention(conn, now=at("2032-09-01"), actor=ADMIN, dry_run=True)
        assert (dry.destroyed, dry.held) == ([old.case_ref], [held.case_ref])
        assert len(dry.subject_ids) == 3
        await load_case(conn, db.keys, old.case_ref)  # a dry run destroys nothing
        done = await run_retention(conn, now=at("2032-09-01"), actor=ADMIN)
        assert done.destroyed == [old.case_ref]
    async with db.engine.connect() as conn:
        for attempt in (
            load_case(conn, db.keys, old.case_ref),
            decrypt_for_case(conn, db.keys, old.case_ref, "action:1", note),
            encrypt_for_case(conn, db.keys, old.case_ref, "action:2", b"x"),
        ):
            with pytest.raises(HubError) as gone:
                await attempt
            assert gone.value.code == "key-destroyed"
        kept = await load_case(conn, db.keys, held.case_ref)
        assert kept.legal_hold and kept.hold_reason == "domestic homicide review"
        assert await find_subject_ids(conn, db.keys, "Alice Smith", None) == []
        keys = await conn.execute(
            select(case_subjects.c.match_key).where(case_subjects.c.case_ref == old.case_ref)
        )
        assert all(k.match_key is None for k in keys)
        listed = {c.ref: c for c in await list_cases(conn, "north")}
        assert listed[old.case_ref].destroyed and listed[old.case_ref].status == "destroyed"
        # The destruction is logged (ref and subject ids, no names); the log verifies.
        count = await log_store.size(conn)
        entries = [await log_store.entry(conn, i) for i in range(count)]
        assert count == 1 and entries[0] is not None
        logged = parse_entry(entries[0])
        assert (logged.kind, logged.case_refs, logged.status, logged.actor) == (
            "retention",
            (old.case_ref,),
            "key_destroyed",
            ADMIN,
        )
        assert list(logged.subject_ids or ()) == dry.subject_ids and b"Alice" not in entries[0]
        assert await log_store.root(conn, count) == merkle.root([e for e in entries if e])
    async with db.engine.begin() as conn:
        await set_hold(conn, db.keys, held.case_ref, None)
        done = await run_retention(conn, now=at("2032-09-01"), actor=ADMIN)
        assert done.destroyed == [held.case_ref]
        assert (await run_retention(conn, now=at("2040-01-01"), actor=ADMIN)).destroyed == []
        with pytest.raises(HubError) as gone:
            await set_hold(conn, db.keys, held.case_ref, "too late")
        assert gone.value.code == "key-destroyed"


async def test_a_repeat_keeps_the_earlier_case_and_areas_set_the_period(db: Db) -> None:
    first = await submit(db, pair("Alice Smith", "Bob Smith", "2026-01-10"))
    await submit(db, pair("Alice Smith", "Bob Smith", "2026-09-01"))
    async with db.engine.begin() as conn:
        assert (await run_retention(conn, now=at("2032-06-01"), actor=ADMIN)).destroyed == []
        await set_area(conn, "north", retention_years=2)
        destroyed = (await run_retention(conn, now=at("2028-09-01"), actor=ADMIN)).destroyed
        assert first.case_ref in destroyed and len(destroyed) == 2


def test_leap_day() -> None:
    assert str(retention_due(datetime(2028, 2, 29).date(), 6)) == "2034-03-01"
