"""The workflow's property test, extended to every format: whatever the policy, the case
and the agency's format (json, fhir-r4, pole), no sealed payload carries a value of a
field the policy does not allow that agency, and every rendered document validates.

It reuses the workflow test's world (six active agencies, one suspended, one on an old
ISP), case views and builders (tests/disclosure/test_pipeline.py) and the random policies
of tests/policy/strategies.py. Each string and date of a case is replaced by a token used
nowhere else, so "the value appears in the payload" is a plain substring test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from disclosure.test_pipeline import World, _builder, _case, views, world  # noqa: F401
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy.strategies import policy_texts
from sqlalchemy import select

from hub import agencies as agency_ops
from hub.adapters.formats import load_format
from hub.crypto.sealing import open_envelope
from hub.delivery.settings import DeliverySettings, set_delivery
from hub.delivery.tables import outbox
from hub.disclosure import Disclosed, DisclosureRequest, disclose
from hub.log import parse_entry
from hub.log.tables import log_entries
from hub.policy import load_policy
from hub.protocol import parse_envelope
from hub.protocol.canonical import canonical_json

FORMATS = ("json", "fhir-r4", "pole")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
_GROUP = {"victim": "victim", "perpetrator": "perpetrator", "child": "children"}
_PERSON_KEYS = {"subject_id", "role"}


def tokenised(
    view: dict[str, Any], counter: Iterator[int]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``view`` with each string and date replaced by a token unique across ``counter``'s
    views; and token -> field path."""
    tokens: dict[str, str] = {}

    def token(path: str, value: Any) -> Any:
        n = next(counter)
        if isinstance(value, date):
            new: Any = date(1900, 1, 1) + timedelta(days=n)
            tokens[new.isoformat()] = path
        elif isinstance(value, str):
            new = f"zq{n:04d}q"
            tokens[new] = path
        elif isinstance(value, tuple):
            new = tuple(token(path, v) for v in value)
        else:
            new = value
        return new

    out = dict(view)
    for key in ("victim", "perpetrator"):
        person = view[key]
        out[key] = {
            k: v if k in _PERSON_KEYS else token(f"{key}.{k}", v) for k, v in person.items()
        }
    out["children"] = [
        {k: v if k in _PERSON_KEYS else token(f"children.{k}", v) for k, v in child.items()}
        for child in view["children"]
    ]
    out["referral"] = {
        k: token(f"referral.{k}", v)
        if k in ("rationale", "consent_exception", "referred_on")
        else v
        for k, v in view["referral"].items()
    }
    out["safe_contact"] = {
        k: token(f"safe_contact.{k}", v) if k in ("phone", "notes") else v
        for k, v in view["safe_contact"].items()
    }
    return out, tokens


async def _set_formats(env: World, chosen: dict[str, str]) -> None:
    async with env.engine.begin() as conn:
        for agency_id, fmt in chosen.items():
            await set_delivery(conn, agency_id, DeliverySettings(format=fmt), now=NOW, by="test")


async def _sealed_and_entry(env: World, outcome: Disclosed) -> tuple[bytes, Any]:
    async with env.engine.connect() as conn:
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


async def _disclose(
    env: World, policy: Any, purpose: str, agency_id: str, cases: list[Any]
) -> tuple[Any, Any]:
    async with env.engine.begin() as conn:
        agency = await agency_ops.get_agency(conn, agency_id)
        assert agency is not None
        request = DisclosureRequest(
            purpose, agency, cases, _builder(purpose, cases), "coordinator:amy"
        )
        return agency, await disclose(conn, env.context(policy), request)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    policy_text=policy_texts(),
    case_views=st.lists(views, min_size=1, max_size=3),
    purpose=st.sampled_from(["agenda", "case_extract"]),
    formats=st.lists(st.sampled_from(FORMATS), min_size=8, max_size=8),
)
def test_no_sealed_payload_in_any_format_carries_a_field_its_policy_does_not_allow(
    world: World,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    policy_text: str,
    case_views: list[dict[str, Any]],
    purpose: str,
    formats: list[str],
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(policy_text)
    policy = load_policy(path)
    counter = itertools.count(1)
    views_and_tokens = [tokenised(v, counter) for v in case_views]
    cases = [_case(view, n) for n, (view, _) in enumerate(views_and_tokens, 1)]
    if purpose == "case_extract":
        cases, views_and_tokens = cases[:1], views_and_tokens[:1]
    chosen = dict(zip(sorted(world.agencies), formats, strict=True))
    world.run(_set_formats(world, chosen))
    for agency_id, key in world.agencies.items():
        agency, outcome = world.run(_disclose(world, policy, purpose, agency_id, cases))
        if not isinstance(outcome, Disclosed):
            continue  # refusals and holds send nothing: the workflow test checks them
        rule = policy.rule(purpose, agency.kind)
        assert rule is not None
        sealed, entry = world.run(_sealed_and_entry(world, outcome))
        opened = open_envelope(
            parse_envelope(sealed), recipient=key, sender=world.keys.identity.public
        )
        fmt = chosen[agency_id]
        if fmt == "json":
            assert opened.header.type == purpose
            load_format("json").validate(opened.payload)
        else:
            assert opened.header.type == "rendered"
            assert opened.payload["format"] == fmt
            assert opened.payload["original_type"] == purpose
            load_format(fmt).validate(opened.payload["document"])
        assert entry.format == fmt and entry.message_type == purpose
        text = canonical_json(opened.payload).decode()
        for case, (_, tokens) in zip(cases, views_and_tokens, strict=True):
            allowed = rule.fields_for(case.perpetrator_must_not_know)
            leaked = {p for t, p in tokens.items() if p not in allowed and t in text}
            assert not leaked, (agency_id, fmt, purpose, sorted(leaked))
        everything = set().union(*(rule.fields_for(c.perpetrator_must_not_know) for c in cases))
        assert set(entry.fields or ()) <= everything
