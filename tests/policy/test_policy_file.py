"""Loading and validating the disclosure policy file: every error, named with its rule."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from hub.agencies import KINDS
from hub.policy import PURPOSES, Policy, check_policy, load_policy
from hub.policy.bases import DEFAULT_BASES, BasisSpec
from hub.policy.fields import FIELDS, categories_of
from hub.policy.policy import MAX_POLICY_BYTES
from hub.protocol.errors import PolicyError

GOOD_RULE = """
[[rule]]
purpose = "agenda"
kinds = ["*"]
fields = ["victim.name"]
basis = "public-task"
decision = "permit"
"""


def errors_of(text: str, **kw: object) -> list[str]:
    return check_policy(text.encode(), **kw)  # type: ignore[arg-type]


def one_error(text: str) -> str:
    found = errors_of(text)
    assert len(found) == 1, found
    return found[0]


def rule(**items: str) -> str:
    base = {
        "purpose": '"agenda"',
        "kinds": '["police"]',
        "fields": '["victim.name"]',
        "basis": '"public-task"',
        "decision": '"permit"',
    }
    base.update(items)
    body = "\n".join(f"{k} = {v}" for k, v in base.items() if v != "")
    return f'version = "1"\n[[rule]]\n{body}\n'


def test_the_bundled_default_loads_and_covers_every_purpose_and_kind() -> None:
    policy = load_policy()
    assert policy.version == "2026.1"
    for purpose in PURPOSES:
        for kind in KINDS:
            assert policy.rule(purpose, kind) is not None, (purpose, kind)


def test_every_bundled_rule_is_covered_by_its_default_basis() -> None:
    bases = {b["id"]: BasisSpec.model_validate(b) for b in DEFAULT_BASES}
    for r in load_policy().rules:
        basis = bases[r.basis]
        assert r.purpose in basis.purposes
        assert set(categories_of(r.fields)) <= set(basis.data_categories), r.number


def test_the_default_is_proportionate() -> None:
    policy = load_policy()
    housing_notice = policy.rule("action_notice", "housing")
    assert housing_notice is not None
    assert "victim.name" in housing_notice.fields
    assert "safe_contact.phone" in housing_notice.fields
    assert not any(p.startswith("risk.") for p in housing_notice.fields)
    housing = policy.rule("case_extract", "housing")
    assert housing is not None
    assert "risk.answers" not in housing.fields
    assert "children.school" not in housing.fields
    police = policy.rule("case_extract", "police")
    refuge = policy.rule("case_extract", "refuge")
    assert police is not None and refuge is not None
    assert police.fields == frozenset(FIELDS)
    assert len(refuge.fields) < len(police.fields)
    probation = policy.rule("case_extract", "probation")
    assert probation is not None
    assert not {"victim.address", "safe_contact.address", "children.school"} & probation.fields
    agenda = policy.rule("agenda", "refuge")
    assert agenda is not None
    assert agenda.fields >= {"victim.name", "perpetrator.date_of_birth", "children.name"}
    assert not any(p.endswith("address") for p in agenda.fields)


def test_restricted_fields_narrow_and_default_to_fields() -> None:
    policy = load_policy()
    for r in policy.rules:
        assert r.restricted_fields <= r.fields
    research = policy.rule("research_request", "police")
    assert research is not None
    assert "victim.address" in research.fields
    assert "victim.address" not in research.fields_for(restricted=True)
    agenda = policy.rule("agenda", "police")
    assert agenda is not None and agenda.fields_for(True) == agenda.fields_for(False)
    # A carried-forward action's free text: to its owner (any kind) and to the IDVA.
    assert agenda.owner_only(False) == {"carried_forward.description", "carried_forward.reason"}
    idva = policy.rule("agenda", "idva")
    assert idva is not None and idva.owner_only(False) == frozenset()
    assert "carried_forward.description" in idva.fields


def test_a_named_kind_wins_over_the_catch_all() -> None:
    text = 'version = "1"\n' + GOOD_RULE + rule(fields='["victim.date_of_birth"]').split("\n", 1)[1]
    assert not errors_of(text)
    path_policy = load_policy_text(text)
    police = path_policy.rule("agenda", "police")
    other = path_policy.rule("agenda", "refuge")
    assert police is not None and police.fields == {"victim.date_of_birth"}
    assert other is not None and other.fields == {"victim.name"}
    assert path_policy.rule("minutes", "police") is None


def load_policy_text(text: str) -> Policy:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.toml"
        path.write_text(text)
        return load_policy(path)


def test_group_wildcards_expand_to_what_the_purpose_can_carry() -> None:
    policy = load_policy_text(
        rule(purpose='"action_notice"', fields='["victim.*", "safe_contact.*"]')
    )
    r = policy.rule("action_notice", "police")
    assert r is not None
    assert r.fields == {p for p in FIELDS if p.startswith(("victim.", "safe_contact."))}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (rule(purpose='"gossip"'), "rule 1: unknown purpose 'gossip'"),
        (
            rule(kinds='["police", "astrologer"]'),
            "rule 1 (agenda): unknown agency kind 'astrologer'",
        ),
        (rule(kinds="[]"), "kinds must be a non-empty list"),
        (rule(kinds='["police", "police"]'), "a kind is named twice"),
        (rule(fields='["victim.shoe_size"]'), "rule 1 (agenda): unknown field 'victim.shoe_size'"),
        (
            rule(fields='["risk.level", "risk.tool", "risk.yes_count"]'),
            "this purpose cannot carry risk.level",
        ),
        (rule(fields='["risk.*"]'), "this purpose cannot carry risk.*"),
        (rule(fields="[]"), "fields must be a non-empty list"),
        (rule(fields='"victim.name"'), "fields must be a non-empty list"),
        (rule(fields="[1]"), "fields holds a non-string 1"),
        (rule(basis='"gut-feeling"'), "rule 1 (agenda): unknown lawful basis 'gut-feeling'"),
        (rule(basis="3"), "unknown lawful basis 3"),
        (rule(decision='"maybe"'), "decision must be permit or review, not 'maybe'"),
        (rule(decision=""), "rule 1 (agenda): missing decision"),
        (rule(basis=""), "missing basis"),
        (rule(colour='"red"'), "rule 1 (agenda): unknown key 'colour'"),
        (
            rule(restricted_fields='["victim.date_of_birth"]'),
            "restricted field victim.date_of_birth is not in fields",
        ),
        (
            rule(purpose='"case_extract"', fields='["risk.level"]'),
            "fields sends part of risk without risk.tool, risk.yes_count",
        ),
        (
            rule(purpose='"case_extract"', fields='["safe_contact.phone"]'),
            "sends part of safe_contact without safe_contact.safe_to_contact",
        ),
        ('version = "1"\nrule = [1]\n', "rule 1: must be a table"),
        ('version = "1"\n', "no rules"),
        (rule().replace('version = "1"', "version = 2"), "version must be a string"),
        (rule().replace('version = "1"', 'version = "../../etc"'), "version must be a string"),
        (rule().replace('version = "1"', ""), "version must be a string"),
        ("colour = 'red'\n" + rule(), "unknown key 'colour'"),
        ("version = ", "not valid TOML"),
    ],
)
def test_each_error_is_named_with_its_rule(text: str, expected: str) -> None:
    assert any(expected in e for e in errors_of(text)), errors_of(text)


def test_a_kind_given_twice_for_a_purpose_is_refused() -> None:
    text = rule() + rule().split("\n", 1)[1]
    assert one_error(text) == "rule 2: agenda for police is already given by rule 1"


def test_every_error_is_listed_not_just_the_first() -> None:
    text = rule(purpose='"gossip"', basis='"nope"', decision='"maybe"')
    assert len(errors_of(text)) == 3


def test_load_policy_raises_naming_the_first_error_and_counting_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(rule(kinds='["astrologer"]', basis='"nope"'))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.code == "invalid-policy"
    assert "unknown agency kind 'astrologer'" in caught.value.message
    assert "(and 1 more)" in caught.value.message
    assert str(path) in caught.value.message


def test_basis_ids_are_checked_against_what_the_caller_knows() -> None:
    text = rule(basis='"local-protocol"')
    assert errors_of(text)
    assert not errors_of(text, basis_ids={"local-protocol"})
    assert errors_of(rule(), basis_ids={"local-protocol"})


def test_missing_unreadable_oversized_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "absent.toml")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (MAX_POLICY_BYTES + 1))
    with pytest.raises(PolicyError, match="larger than"):
        load_policy(big)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b'version = "\xff\xfe"\n')
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(binary)
    assert errors_of("\x00") and errors_of("[[rule]]\n" * 5000)


def test_hostile_values_are_shown_truncated_and_quoted() -> None:
    long_name = "x" * 5000
    error = one_error(rule(fields=f'["{long_name}"]'))
    assert len(error) < 200
    assert "..." in error
