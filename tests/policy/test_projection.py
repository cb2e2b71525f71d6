"""``project``: a projection onto the allowed fields, never a deletion."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from strategies import field_sets, views

from hub.policy import project
from hub.policy.fields import PERSON_GROUPS

VIEW: dict[str, Any] = {
    "victim": {"subject_id": "S1", "role": "victim", "name": "V", "address": "A", "ethnicity": "E"},
    "perpetrator": {"subject_id": "S2", "role": "perpetrator", "name": "P"},
    "children": [
        {"subject_id": "S3", "role": "child", "name": "C1", "school": "Sch"},
        {"subject_id": "S4", "role": "child", "name": "C2"},
    ],
    "risk": {"tool": "DASH", "yes_count": 15, "level": "high", "answers": [True] * 24},
    "safe_contact": {"safe_to_contact": True, "phone": "0"},
    "perpetrator_must_not_know": True,
    "summary": "free text",
}


def test_only_the_named_fields_survive() -> None:
    out = project(VIEW, {"victim.name", "children.name", "perpetrator_must_not_know"})
    assert out == {
        "victim": {"subject_id": "S1", "role": "victim", "name": "V"},
        "children": [
            {"subject_id": "S3", "role": "child", "name": "C1"},
            {"subject_id": "S4", "role": "child", "name": "C2"},
        ],
        "perpetrator_must_not_know": True,
    }


def test_a_person_with_no_allowed_field_is_left_out_and_groups_too() -> None:
    out = project(VIEW, {"risk.level", "risk.tool", "risk.yes_count"})
    assert out == {"risk": {"level": "high", "tool": "DASH", "yes_count": 15}}
    assert project(VIEW, set()) == {}


def test_the_result_shares_no_container_with_the_view() -> None:
    out = project(
        VIEW, {"risk.answers", "risk.tool", "risk.yes_count", "risk.level", "victim.name"}
    )
    out["risk"]["answers"][0] = False
    out["victim"]["name"] = "changed"
    assert VIEW["risk"]["answers"][0] is True
    assert VIEW["victim"]["name"] == "V"


def test_unknown_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown field path"):
        project(VIEW, {"summary"})


def _paths(out: dict[str, Any]) -> set[str]:
    found = set()
    for key, value in out.items():
        items = value if isinstance(value, list) else [value]
        if isinstance(value, dict | list):
            for item in items:
                found |= {f"{key}.{a}" for a in item if a not in ("subject_id", "role")}
        else:
            found.add(key)
    return found


@settings(max_examples=300, deadline=None)
@given(view=views, fields=field_sets)
def test_projection_never_leaks_and_keeps_what_it_should(
    view: dict[str, Any], fields: frozenset[str]
) -> None:
    out = project(view, fields)
    assert _paths(out) <= fields
    assert "summary" not in out
    for group in PERSON_GROUPS:
        allowed = {p.split(".", 1)[1] for p in fields if p.startswith(group + ".")}
        source = view.get(group)
        if source is None or not allowed:
            assert group not in out
            continue
        people = out[group] if group == "children" else [out[group]]
        sources = source if group == "children" else [source]
        assert len(people) == len(sources)
        for person, original in zip(people, sources, strict=True):
            assert person["subject_id"] == original["subject_id"]
            assert person["role"] == original["role"]
            assert person is not original
            for attr in allowed:
                assert person.get(attr) == original.get(attr)
    for path in fields:
        group, _, attr = path.partition(".")
        if attr and group not in PERSON_GROUPS and view.get(group, {}).get(attr) is not None:
            assert out[group][attr] == view[group][attr]
        if not attr and path in view:
            assert out[path] == view[path]
