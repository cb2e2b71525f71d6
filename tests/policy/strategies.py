"""Hypothesis strategies: random case views and random valid policies."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from hub.agencies import KINDS
from hub.policy import FIELDS, PURPOSE_FIELDS, PURPOSES
from hub.policy.bases import DEFAULT_BASIS_IDS
from hub.policy.fields import REQUIRED_IN_GROUP

_TEXT = st.text(min_size=1, max_size=8)
_VALUES: dict[str, Any] = {
    "other_names": st.lists(_TEXT, max_size=3),
    "answers": st.lists(st.one_of(st.none(), st.booleans()), min_size=24, max_size=24),
    "yes_count": st.integers(0, 24),
    "safe_to_contact": st.booleans(),
}


def _attrs(group: str) -> list[str]:
    return sorted(p.split(".", 1)[1] for p in FIELDS if p.startswith(group + "."))


def _group(group: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={a: _VALUES.get(a, _TEXT) for a in _attrs(group)})


def _person(group: str, role: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"subject_id": st.from_regex(r"S[0-9A-Z]{6}", fullmatch=True), "role": st.just(role)},
        optional={a: _VALUES.get(a, _TEXT) for a in _attrs(group)},
    )


views = st.fixed_dictionaries(
    {},
    optional={
        "victim": _person("victim", "victim"),
        "perpetrator": _person("perpetrator", "perpetrator"),
        "children": st.lists(_person("children", "child"), max_size=4),
        "risk": _group("risk"),
        "referral": _group("referral"),
        "safe_contact": _group("safe_contact"),
        "perpetrator_must_not_know": st.booleans(),
        "summary": _TEXT,  # not a policy field: never projected
    },
)
field_sets = st.frozensets(st.sampled_from(sorted(FIELDS)))


def complete(fields: set[str]) -> set[str]:
    """``fields`` plus the required members of every group it touches."""
    out = set(fields)
    for group, required in REQUIRED_IN_GROUP.items():
        if any(p.startswith(group + ".") for p in fields):
            out |= required
    return out


@st.composite
def policy_texts(draw: st.DrawFn) -> str:
    """A valid policy file: for each purpose, rules for a random few agency kinds."""
    lines = ['version = "prop.1"']
    for purpose in PURPOSES:
        kinds = draw(st.lists(st.sampled_from(KINDS), unique=True, max_size=6))
        if not kinds:
            continue
        cut = draw(st.integers(1, len(kinds)))
        for group in (kinds[:cut], kinds[cut:]):
            if not group:
                continue
            carried = sorted(PURPOSE_FIELDS[purpose])
            fields = complete(draw(st.sets(st.sampled_from(carried), min_size=1, max_size=12)))
            restricted = complete(draw(st.sets(st.sampled_from(sorted(fields)), max_size=8)))
            lines += [
                "[[rule]]",
                f"purpose = {json.dumps(purpose)}",
                f"kinds = {json.dumps(group)}",
                f"fields = {json.dumps(sorted(fields))}",
                f"restricted_fields = {json.dumps(sorted(restricted))}",
                f"basis = {json.dumps(draw(st.sampled_from(sorted(DEFAULT_BASIS_IDS))))}",
                f"decision = {json.dumps(draw(st.sampled_from(['permit', 'review'])))}",
            ]
    if len(lines) == 1:
        lines += ["[[rule]]", 'purpose = "minutes"', 'kinds = ["other"]']
        lines += ['fields = ["victim.name"]', 'basis = "public-task"', 'decision = "permit"']
    return "\n".join(lines) + "\n"
