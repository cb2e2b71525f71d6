"""``decide`` against a real (SQLite) database: random valid policies, every refusal."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine
from strategies import policy_texts

from hub import agencies
from hub.agencies import KINDS, Agency
from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.policy import (
    FIELDS,
    PURPOSE_FIELDS,
    PURPOSES,
    Decision,
    Policy,
    Verdict,
    load_policy,
)
from hub.policy.bases import DEFAULT_BASES, BasisSpec
from hub.policy.decide import decide
from hub.policy.fields import categories_of
from hub.policy.isp import publish_isp, sign_isp
from hub.policy.standing import Standing
from hub.protocol.errors import ProtocolError
from hub.storage.engine import create_engine
from hub.storage.schema import migrate

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
BASES = {b["id"]: BasisSpec.model_validate(b) for b in DEFAULT_BASES}


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    agencies: dict[str, Agency]

    def decide(self, policy: Policy, agency_id: str, purpose: str, **kw: Any) -> Decision:
        async def run() -> Decision:
            async with self.engine.connect() as conn:
                return await decide(
                    conn, policy, purpose=purpose, agency=self.agencies[agency_id], now=NOW, **kw
                )

        return self.loop.run_until_complete(run())


async def _agency(engine: AsyncEngine, agency_id: str, kind: str, valid_for: timedelta) -> Agency:
    code = await agencies.invite(
        engine,
        agency_id=agency_id,
        name=agency_id,
        kind=kind,
        isp_version="2026.1",
        isp_signed_by="DMO",
        isp_signed_on=date(2026, 11, 1),
        now=NOW,
    )
    identity = IdentityKeyPair.generate()
    key = EncryptionKeyPair.generate().public
    signed = announce_key(
        identity, agency_id, key, now=NOW - timedelta(days=1), valid_for=valid_for
    )
    await agencies.enrol(engine, code, signed, now=NOW - timedelta(days=1))
    await agencies.approve(engine, agency_id, identity.fingerprint, by="t", now=NOW)
    async with engine.connect() as conn:
        found = await agencies.get_agency(conn, agency_id)
    assert found is not None
    return found


async def _build(engine: AsyncEngine) -> dict[str, Agency]:
    await migrate(engine)
    async with engine.begin() as conn:
        await publish_isp(
            conn,
            version="2025.1",
            title="old",
            document_sha256=None,
            by="t",
            now=NOW - timedelta(days=400),
        )
        await publish_isp(
            conn,
            version="2026.1",
            title="new",
            document_sha256=None,
            by="t",
            now=NOW - timedelta(days=30),
        )
    found = {}
    for kind in KINDS:
        found[kind] = await _agency(engine, f"a-{kind.replace('_', '-')}", kind, timedelta(days=14))
    found["suspended"] = await _agency(engine, "suspended", "police", timedelta(days=14))
    await agencies.set_status(engine, "suspended", "suspended", now=NOW, actor="admin:test")
    found["old-isp"] = await _agency(engine, "old-isp", "police", timedelta(days=14))
    async with engine.begin() as conn:
        await sign_isp(
            conn,
            "old-isp",
            version="2025.1",
            signed_by="DMO",
            signed_on=date(2025, 1, 2),
            recorded_by="t",
            now=NOW,
        )
    found["no-key"] = await _agency(engine, "no-key", "police", timedelta(hours=1))
    return found


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(scratch) / 'hub.sqlite3'}")
        try:
            yield World(loop, engine, loop.run_until_complete(_build(engine)))
        finally:
            loop.run_until_complete(engine.dispose())
            loop.close()


def _policy(text: str) -> Policy:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "policy.toml"
        path.write_text(text)
        return load_policy(path)


def test_the_default_policy_permits_housing_its_notice(world: World) -> None:
    d = world.decide(load_policy(), "housing", "action_notice")
    assert d.outcome == Verdict.PERMIT
    assert d.basis is not None
    assert d.basis.id == "public-task" and d.basis.version == 1
    assert d.fields == tuple(sorted(d.fields))
    assert "victim.address" in d.fields
    restricted = world.decide(load_policy(), "housing", "action_notice", restricted=True)
    assert "victim.address" not in restricted.fields
    assert restricted.policy_version == "2026.1"


@pytest.mark.parametrize(
    ("agency", "code"),
    [("suspended", "agency-not-active"), ("old-isp", "isp-not-signed"), ("no-key", "key-revoked")],
)
def test_recipients_that_may_receive_nothing(world: World, agency: str, code: str) -> None:
    d = world.decide(load_policy(), agency, "agenda")
    assert (d.outcome, d.code) == (Verdict.DENY, code)
    assert d.basis is None and d.reason


def test_an_override_must_still_be_covered_and_carried(world: World) -> None:
    policy = load_policy()
    covered = world.decide(policy, "police", "agenda", extra_fields=frozenset({"victim.address"}))
    assert covered.outcome == Verdict.PERMIT and "victim.address" in covered.fields
    assert covered.extra_fields == ("victim.address",)
    special = world.decide(policy, "police", "agenda", extra_fields=frozenset({"victim.ethnicity"}))
    assert special.code == "no-lawful-basis" and "special_category" in str(special.reason)
    carried = world.decide(policy, "police", "agenda", extra_fields=frozenset({"risk.level"}))
    assert carried.code == "no-lawful-basis" and "cannot carry" in str(carried.reason)
    with pytest.raises(ProtocolError):
        world.decide(policy, "police", "agenda", extra_fields=frozenset({"victim.shoe_size"}))
    with pytest.raises(ProtocolError):
        world.decide(policy, "police", "gossip")


@settings(max_examples=60, deadline=None)
@given(
    text=policy_texts(),
    who=st.sampled_from([*KINDS, "suspended", "old-isp", "no-key"]),
    purpose=st.sampled_from(PURPOSES),
    restricted=st.booleans(),
    extra=st.frozensets(st.sampled_from(sorted(FIELDS)), max_size=2),
)
def test_decide_matches_the_rules_for_random_policies(
    world: World, text: str, who: str, purpose: str, restricted: bool, extra: frozenset[str]
) -> None:
    policy = _policy(text)
    d = world.decide(policy, who, purpose, restricted=restricted, extra_fields=extra)
    rule = policy.rule(purpose, world.agencies[who].kind)
    expected = {
        "suspended": "agency-not-active",
        "old-isp": "isp-not-signed",
        "no-key": "key-revoked",
    }
    if who in expected:
        assert (d.outcome, d.code) == (Verdict.DENY, expected[who])
        return
    if rule is None:
        assert (d.outcome, d.code) == (Verdict.DENY, "no-lawful-basis")
        return
    fields = rule.fields_for(restricted) | extra
    basis = BASES[rule.basis]
    covered = set(categories_of(fields)) <= set(basis.data_categories)
    if not extra <= PURPOSE_FIELDS[purpose] or not covered:
        assert (d.outcome, d.code) == (Verdict.DENY, "no-lawful-basis")
        return
    assert d.outcome == Verdict(rule.decision) and d.code is None
    assert d.fields == tuple(sorted(fields))
    assert d.data_categories == categories_of(fields)
    assert d.basis is not None
    assert (d.basis.id, d.basis.version) == (rule.basis, 1)


def test_standing_reads_again_unless_every_agency_is_known(world: World) -> None:
    """``known`` agencies (read in the same transaction) stand in for a second read only
    when they cover the whole batch; otherwise every agency is read afresh."""
    stale = {"suspended": replace(world.agencies["suspended"], status="active")}

    async def refusals(known: dict[str, Agency] | None, ids: list[str]) -> dict[str, Any]:
        async with world.engine.connect() as conn:
            standing = await Standing.read(conn, ids, NOW, known=known)
        return {i: standing.refusal(i) for i in ids}

    run = world.loop.run_until_complete
    assert run(refusals(None, ["suspended"]))["suspended"][0] == "agency-not-active"
    assert run(refusals(stale, ["suspended"]))["suspended"] is None  # taken as given
    both = ["suspended", "police"]
    partial = run(refusals(stale, both))  # one unknown: both read afresh
    assert partial["suspended"][0] == "agency-not-active"
    assert partial == run(refusals(None, both))
