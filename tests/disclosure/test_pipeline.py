"""The disclosure pipeline on a real SQLite database with real keys: what is sealed for each
recipient is exactly the policy's projection, and refusals send nothing but are logged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy.strategies import policy_texts
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import agencies as agency_ops
from hub.cases import Case
from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import open_envelope
from hub.delivery.tables import outbox
from hub.disclosure import (
    Disclosed,
    DisclosureContext,
    DisclosureRequest,
    Held,
    Refused,
    disclose,
    disclose_many,
)
from hub.disclosure.fields import disclosed_paths
from hub.hub_keys import HubKeys, create_hub_keys
from hub.log import LogEntry, parse_entry
from hub.log.tables import log_entries
from hub.policy import Decision, Policy, load_policy
from hub.policy.isp import publish_isp
from hub.protocol import parse_envelope
from hub.protocol.errors import HubError
from hub.protocol.messages import Agenda, AgendaItem, CaseExtract, Message
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.storage.schema import migrate

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
T = TypeVar("T")
KINDS = ("police", "idva", "housing", "health", "refuge", "education")


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    keys: HubKeys
    settings: Settings
    agencies: dict[str, EncryptionKeyPair]

    def context(self, policy: Policy) -> DisclosureContext:
        return DisclosureContext(self.keys, self.settings, policy, NOW)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def disclose(self, policy: Policy, purpose: str, agency_id: str, cases: list[Case]) -> Any:
        async def work() -> Any:
            async with self.engine.begin() as conn:
                agency = await agency_ops.get_agency(conn, agency_id)
                assert agency is not None
                request = DisclosureRequest(
                    purpose, agency, cases, _builder(purpose, cases), "coordinator:amy"
                )
                return agency, await disclose(conn, self.context(policy), request)

        return self.run(work())


async def _agency(engine: AsyncEngine, agency_id: str, kind: str, isp: str) -> EncryptionKeyPair:
    code = await agency_ops.invite(
        engine,
        agency_id=agency_id,
        name=f"{agency_id} service",
        kind=kind,
        isp_version=isp,
        isp_signed_by="DMO",
        isp_signed_on=date(2026, 11, 1),
        now=NOW,
    )
    identity, key = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
    await agency_ops.enrol(
        engine, code, announce_key(identity, agency_id, key.public, now=NOW), now=NOW
    )
    await agency_ops.approve(engine, agency_id, identity.fingerprint, by="admin", now=NOW)
    return key


async def _agencies(engine: AsyncEngine) -> dict[str, EncryptionKeyPair]:
    await migrate(engine)
    async with engine.begin() as conn:
        await publish_isp(
            conn, version="2026.1", title="ISP", document_sha256=None, by="a", now=NOW
        )
    found = {f"{kind}-a": await _agency(engine, f"{kind}-a", kind, "2026.1") for kind in KINDS}
    found["police-suspended"] = await _agency(engine, "police-suspended", "police", "2026.1")
    await agency_ops.set_status(
        engine, "police-suspended", "suspended", now=NOW, actor="admin:test"
    )
    found["idva-old-isp"] = await _agency(engine, "idva-old-isp", "idva", "2025.9")
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Six active agencies with the current ISP, one suspended, one on an old ISP."""
    data = tmp_path_factory.mktemp("hub")
    config = Settings(data_dir=data, key_passphrase="t", key_file_strength="interactive")
    keys = create_hub_keys(config)
    loop = asyncio.new_event_loop()
    engine = create_engine(config.db_url)
    try:
        yield World(loop, engine, keys, config, loop.run_until_complete(_agencies(engine)))
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


_text = st.text(alphabet="abcdefghij ", min_size=1, max_size=12).map(str.strip).filter(bool)
_person_values: dict[str, st.SearchStrategy[Any]] = {
    "name": _text,
    "other_names": st.lists(_text, max_size=2).map(tuple),
    "date_of_birth": st.dates(date(1950, 1, 1), date(2020, 1, 1)),
    "gender": _text,
    "address": _text,
    "ethnicity": _text,
    "disability": _text,
    "sexual_orientation": _text,
    "relationship_to_victim": _text,
    "school": _text,
}


def _person(role: str, allowed: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"subject_id": st.from_regex(r"S-[A-Z2-7]{12}", fullmatch=True), "role": st.just(role)},
        optional={k: _person_values[k] for k in allowed},
    )


_BASE = ("name", "other_names", "date_of_birth", "gender", "address")
views = st.fixed_dictionaries(
    {
        "victim": _person("victim", (*_BASE, "ethnicity", "disability", "sexual_orientation")),
        "perpetrator": _person("perpetrator", (*_BASE, "relationship_to_victim")),
        "children": st.lists(
            _person("child", ("name", "date_of_birth", "gender", "school", "address")), max_size=3
        ),
        "risk": st.fixed_dictionaries(
            {
                "tool": st.sampled_from(["DASH", "DARA"]),
                "yes_count": st.integers(0, 24),
                "level": st.sampled_from(["high", "medium", "standard"]),
            },
            optional={
                "answers": st.lists(
                    st.one_of(st.none(), st.booleans()), min_size=24, max_size=24
                ).map(tuple)
            },
        ),
        "referral": st.fixed_dictionaries(
            {
                "criterion": st.sampled_from(["visible_high_risk", "professional_judgement"]),
                "referring_agency": st.just("police-a"),
                "referred_on": st.dates(date(2026, 1, 1), date(2026, 11, 1)),
                "consent": st.sampled_from(["sought_given", "sought_refused", "not_sought"]),
            },
            optional={"rationale": _text, "consent_exception": _text},
        ),
        "safe_contact": st.fixed_dictionaries(
            {"safe_to_contact": st.booleans()}, optional={"phone": _text, "notes": _text}
        ),
        "perpetrator_must_not_know": st.booleans(),
    }
)


def _case(view: dict[str, Any], number: int) -> Case:
    return Case(
        ref=f"M-2026-{number:04d}",
        area="north",
        status="referred",
        referred_on=date(2026, 11, 1),
        has_children=bool(view["children"]),
        is_repeat=False,
        previous_ref=None,
        perpetrator_must_not_know=view["perpetrator_must_not_know"],
        consent=view["referral"]["consent"],
        subject_ids=(),
        view=view,
    )


def _builder(purpose: str, cases: list[Case]) -> Any:
    def build(projections: list[dict[str, Any]], decision: Decision) -> Message:
        if purpose == "case_extract":
            assert decision.basis is not None
            return CaseExtract(
                case_ref=cases[0].ref,
                purpose=purpose,
                policy_version=decision.policy_version,
                lawful_basis=decision.basis,
                **projections[0],
            )
        return Agenda(
            meeting_id="01HZX3P4Q5R6S7T8V9W0X1Y2Z3",
            area="north",
            meeting_date=date(2026, 12, 1),
            items=tuple(
                AgendaItem(
                    case_ref=case.ref,
                    position=i + 1,
                    has_children=case.has_children,
                    is_repeat=False,
                    **{k: v for k, v in p.items() if k in ("victim", "perpetrator", "children")},
                )
                for i, (case, p) in enumerate(zip(cases, projections, strict=True))
            ),
        )

    return build


async def _sealed_and_entry(engine: AsyncEngine, outcome: Disclosed) -> tuple[bytes, LogEntry]:
    async with engine.connect() as conn:
        sealed = (
            await conn.execute(
                select(outbox.c.envelope).where(outbox.c.envelope_id == outcome.envelope_id)
            )
        ).scalar_one()
        entry = (
            await conn.execute(
                select(log_entries.c.entry).where(log_entries.c.idx == outcome.log_index)
            )
        ).scalar_one()
    return bytes(sealed), parse_entry(bytes(entry))


async def _last_entry(engine: AsyncEngine) -> bytes:
    async with engine.connect() as conn:
        query = select(log_entries.c.entry).order_by(log_entries.c.idx.desc()).limit(1)
        return bytes((await conn.execute(query)).scalar_one())


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        sent = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
        logged = (await conn.execute(select(func.count()).select_from(log_entries))).scalar_one()
    return sent, logged


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    policy_text=policy_texts(),
    case_views=st.lists(views, min_size=1, max_size=3),
    purpose=st.sampled_from(["agenda", "case_extract"]),
)
def test_no_sealed_payload_carries_a_field_its_policy_does_not_allow(
    world: World, tmp_path: Path, policy_text: str, case_views: list[dict[str, Any]], purpose: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(policy_text)
    policy = load_policy(path)
    cases = [_case(v, n) for n, v in enumerate(case_views, 1)]
    if purpose == "case_extract":
        cases = cases[:1]
    for agency_id, key in world.agencies.items():
        before = world.run(_counts(world.engine))
        agency, outcome = world.disclose(policy, purpose, agency_id, cases)
        sent, logged = world.run(_counts(world.engine))
        rule = policy.rule(purpose, agency.kind)
        if agency_id in ("police-suspended", "idva-old-isp") or rule is None:
            assert isinstance(outcome, Refused), (agency_id, outcome)
            assert (sent, logged) == (before[0], before[1] + 1)  # nothing sent, refusal logged
            continue
        if isinstance(outcome, Refused):  # the basis does not cover what the rule names
            assert outcome.code == "no-lawful-basis"
            assert (sent, logged) == (before[0], before[1] + 1)
            continue
        if isinstance(outcome, Held):
            assert rule.decision == "review" and sent == before[0]
            continue
        assert isinstance(outcome, Disclosed) and sent == before[0] + 1
        sealed, entry = world.run(_sealed_and_entry(world.engine, outcome))
        opened = open_envelope(
            parse_envelope(sealed), recipient=key, sender=world.keys.identity.public
        )
        carried = disclosed_paths(opened.payload)
        items = opened.payload.get("items", [opened.payload])
        for case, item in zip(cases, items, strict=True):  # each case under its own rule
            allowed = rule.fields_for(case.perpetrator_must_not_know)
            assert disclosed_paths(item) <= allowed, (agency_id, purpose)
        assert entry.envelope_id == outcome.envelope_id and entry.recipient == agency_id
        assert set(entry.fields or ()) == carried
        assert entry.case_refs == tuple(c.ref for c in cases)


def test_refusal_of_a_suspended_agency_is_logged_and_sends_nothing(world: World) -> None:
    view = {
        "victim": {"subject_id": "S-AAAAAAAAAAAA", "role": "victim", "name": "Ann Example"},
        "children": [],
        "referral": {"consent": "not_sought"},
        "perpetrator_must_not_know": False,
    }
    case = _case(view, 99)
    before = world.run(_counts(world.engine))
    _, outcome = world.disclose(load_policy(None), "agenda", "police-suspended", [case])
    assert isinstance(outcome, Refused) and outcome.code == "agency-not-active"
    sent, logged = world.run(_counts(world.engine))
    assert sent == before[0] and logged == before[1] + 1
    last = world.run(_last_entry(world.engine))
    entry = json.loads(last)
    assert entry["kind"] == "refusal" and entry["refusal_code"] == "agency-not-active"
    assert entry["recipient"] == "police-suspended" and entry["case_refs"] == [case.ref]
    assert b"Ann" not in last


def test_the_default_agenda_reaches_every_active_agency_with_names_and_dates_only(
    world: World,
) -> None:
    view = {
        "victim": {
            "subject_id": "S-BBBBBBBBBBBB",
            "role": "victim",
            "name": "Bea Example",
            "date_of_birth": date(1990, 1, 2),
            "address": "1 Secret Road",
            "ethnicity": "x",
        },
        "children": [],
        "referral": {"consent": "not_sought"},
        "perpetrator_must_not_know": True,
    }
    case = _case(view, 98)
    for agency_id, key in world.agencies.items():
        _, outcome = world.disclose(load_policy(None), "agenda", agency_id, [case])
        if agency_id in ("police-suspended", "idva-old-isp"):
            assert isinstance(outcome, Refused)
            continue
        assert isinstance(outcome, Disclosed), (agency_id, outcome)
        sealed, entry = world.run(_sealed_and_entry(world.engine, outcome))
        opened = open_envelope(
            parse_envelope(sealed), recipient=key, sender=world.keys.identity.public
        )
        assert opened.payload["items"][0]["victim"] == {
            "subject_id": "S-BBBBBBBBBBBB",
            "role": "victim",
            "name": "Bea Example",
            "date_of_birth": "1990-01-02",
        }
        assert entry.fields == ("victim.date_of_birth", "victim.name")
        assert entry.subject_ids == ("S-BBBBBBBBBBBB",)
        assert entry.basis is not None and entry.kind == "disclosure"


def test_a_batch_decides_each_recipient_as_one_by_one_and_logs_in_order(world: World) -> None:
    """``disclose_many`` to every agency: the same outcomes as one call each, the log
    entries in the requests' order, each disclosure's index naming its own entry."""
    view = {
        "victim": {"subject_id": "S-CCCCCCCCCCCC", "role": "victim", "name": "Cat Example"},
        "children": [],
        "referral": {"consent": "not_sought"},
        "perpetrator_must_not_know": False,
    }
    case = _case(view, 97)
    policy = load_policy(None)
    ids = sorted(world.agencies)
    singly = {a: world.disclose(policy, "agenda", a, [case])[1] for a in ids}

    async def batch() -> list[Any]:
        async with world.engine.begin() as conn:
            found = await agency_ops.get_agencies(conn, ids)
            requests = [
                DisclosureRequest(
                    "agenda", found[a], [case], _builder("agenda", [case]), "coordinator:amy"
                )
                for a in ids
            ]
            return await disclose_many(conn, world.context(policy), requests)

    before = world.run(_counts(world.engine))
    outcomes = world.run(batch())
    sent, logged = world.run(_counts(world.engine))
    assert [type(o) for o in outcomes] == [type(singly[a]) for a in ids]
    assert [o.agency_id for o in outcomes] == ids
    refused = [o for o in outcomes if isinstance(o, Refused)]
    assert {(o.agency_id, o.code) for o in refused} == {
        (a, o.code) for a, o in singly.items() if isinstance(o, Refused)
    }
    disclosed = [o for o in outcomes if isinstance(o, Disclosed)]
    assert sent == before[0] + len(disclosed) and logged == before[1] + len(ids)
    for outcome in disclosed:
        sealed, entry = world.run(_sealed_and_entry(world.engine, outcome))
        assert entry.envelope_id == outcome.envelope_id and entry.recipient == outcome.agency_id
        assert parse_envelope(sealed).header.recipient == outcome.agency_id
    assert [o.log_index for o in disclosed] == sorted(o.log_index for o in disclosed)


def test_a_batch_that_fails_part_way_writes_nothing(world: World) -> None:
    """A request that cannot be built aborts the batch: no envelope, no log entry."""
    view = {
        "victim": {"subject_id": "S-DDDDDDDDDDDD", "role": "victim", "name": "Dee Example"},
        "children": [],
        "referral": {"consent": "not_sought"},
        "perpetrator_must_not_know": False,
    }
    case = _case(view, 96)

    def broken(_projections: list[dict[str, Any]], _decision: Decision) -> Message:
        raise HubError("cannot build this one")

    async def batch() -> None:
        async with world.engine.begin() as conn:
            found = await agency_ops.get_agencies(conn, ["health-a", "police-a"])
            good = DisclosureRequest(
                "agenda", found["health-a"], [case], _builder("agenda", [case]), "coordinator:amy"
            )
            bad = DisclosureRequest("agenda", found["police-a"], [case], broken, "coordinator:amy")
            await disclose_many(conn, world.context(load_policy(None)), [good, bad])

    before = world.run(_counts(world.engine))
    with pytest.raises(HubError, match="cannot build"):
        world.run(batch())
    assert world.run(_counts(world.engine)) == before
