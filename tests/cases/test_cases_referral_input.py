"""Every bad referral is refused naming its field, never echoing its value, saving nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from casekit import NOW, Db, referral
from sqlalchemy import func, select

from hub.cases import parse_referral, refer
from hub.cases.tables import case_keys, case_sequences, case_subjects, cases
from hub.protocol.errors import ProtocolError

SECRET = "Zebedee"
ANSWERS = ["yes"] * 15 + ["no"] * 9


def _victim(**changes: Any) -> dict[str, Any]:
    victim: dict[str, Any] = dict(referral()["victim"])
    victim.update(changes)
    return {k: v for k, v in victim.items() if v is not None}


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("no victim name", {"victim": _victim(name=None)}, "victim.name"),
    ("long name", {"victim": _victim(name=SECRET * 30)}, "victim.name"),
    ("empty name", {"victim": _victim(name="")}, "victim.name"),
    ("victim born later", {"victim": _victim(date_of_birth="2027-01-01")}, "date_of_birth"),
    ("impossible date", {"victim": _victim(date_of_birth="2026-02-30")}, "date_of_birth"),
    (
        "child born 1899",
        {"children": [{"name": SECRET, "date_of_birth": "1899-12-31"}]},
        "children.0.date_of_birth",
    ),
    ("23 answers", {"risk": {"tool": "DASH", "answers": ANSWERS[:23]}}, "risk.answers"),
    ("25 answers", {"risk": {"tool": "DASH", "answers": [*ANSWERS, "no"]}}, "risk.answers"),
    (
        "odd answer",
        {"risk": {"tool": "DASH", "answers": [*ANSWERS[:23], SECRET]}},
        "risk.answers.23",
    ),
    ("unknown tool", {"risk": {"tool": SECRET, "answers": ANSWERS}}, "risk.tool"),
    ("unknown criterion", {"criterion": SECRET}, "criterion"),
    (
        "too few for visible high risk",
        {"risk": {"tool": "DASH", "answers": ["yes"] * 13 + ["no"] * 11}},
        "criterion",
    ),
    ("no rationale", {"criterion": "professional_judgement"}, "rationale"),
    ("no call-outs", {"criterion": "potential_escalation"}, "police_callouts_12m"),
    (
        "call-outs below the area's rule",
        {"criterion": "potential_escalation", "police_callouts_12m": 2},
        "police_callouts_12m",
    ),
    ("negative call-outs", {"police_callouts_12m": -1}, "police_callouts_12m"),
    ("repeat claimed", {"criterion": "repeat"}, "criterion"),
    ("future referral", {"referred_on": "2026-09-16"}, "referred_on"),
    ("ancient referral", {"referred_on": "1990-01-01"}, "referred_on"),
    ("no consent exception", {"consent": {"status": "sought_refused"}}, "consent.exception"),
    ("bad consent", {"consent": {"status": SECRET}}, "consent.status"),
    ("long address", {"victim": _victim(address="x" * 20_001)}, "victim.address"),
    ("unknown field", {"victim": _victim(**{SECRET: "x"})}, "victim.(unknown field)"),
    ("unknown top field", {SECRET: 1}, "(unknown field)"),
    ("unknown agency", {"referring_agency": "nobody-here"}, "referring_agency"),
    ("bad agency id", {"referring_agency": SECRET}, "referring_agency"),
    ("16 children", {"children": [{"name": "C"}] * 16}, "children"),
    ("no safe contact", {"safe_contact": None}, "safe_contact"),
    ("flag not a bool", {"perpetrator_must_not_know": SECRET}, "perpetrator_must_not_know"),
    ("no perpetrator", {"perpetrator": None}, "perpetrator"),
    ("too many other names", {"victim": _victim(other_names=["n"] * 21)}, "other_names"),
]


async def _count(db: Db) -> list[int]:
    async with db.engine.connect() as conn:
        return [
            await conn.scalar(select(func.count()).select_from(t))
            for t in (cases, case_subjects, case_keys, case_sequences)
        ]


async def test_bad_referrals_are_refused_naming_the_field(db: Db) -> None:
    before = await _count(db)
    for label, changes, field in BAD:
        doc = referral(**changes)
        doc = {k: v for k, v in doc.items() if v is not None}
        with pytest.raises(ProtocolError) as refused:
            async with db.engine.begin() as conn:
                parsed = parse_referral(doc, today=NOW.date())
                await refer(conn, db.keys, parsed, area="north", actor="t", now=NOW)
        error = refused.value
        assert error.code == "invalid-referral", label
        assert field in error.message, (label, error.message)
        assert SECRET not in error.message and "Alice" not in error.message, label
    assert await _count(db) == before == [0, 0, 0, 0]


@pytest.mark.parametrize("payload", [None, [], "referral", 3, {}])
def test_non_objects_are_refused(payload: Any) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_referral(payload, today=NOW.date())
    assert refused.value.code == "invalid-referral"


def test_levels_follow_the_count() -> None:
    for yes, level in ((0, "standard"), (9, "standard"), (10, "medium"), (13, "medium")):
        answers = ["yes"] * yes + ["not_known"] * (24 - yes)
        doc = referral(
            risk={"tool": "DARA", "answers": answers},
            criterion="potential_escalation",
            police_callouts_12m=4,
        )
        parsed = parse_referral(doc, today=NOW.date())
        assert (parsed.risk.yes_count, parsed.level) == (yes, level)


def test_the_documented_example_is_a_valid_referral() -> None:
    text = (Path(__file__).parents[2] / "docs" / "referrals.md").read_text()
    example = re.search(r"```json\n(.*?)```", text, re.S)
    assert example is not None
    parsed = parse_referral(json.loads(example[1]), today=NOW.date())
    assert (parsed.risk.yes_count, parsed.level) == (15, "high")
