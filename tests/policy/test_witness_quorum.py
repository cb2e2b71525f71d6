"""The policy's ``[witness]`` table: defaults, a valid table, and bad values refused."""

from __future__ import annotations

import pytest

from hub.policy.policy import check_policy, load_policy
from hub.policy.witness import WitnessQuorum

BUNDLED = load_policy()


def _with(table: str) -> bytes:
    rule = (
        '[[rule]]\npurpose = "agenda"\nkinds = ["*"]\nfields = ["victim.name"]\n'
        'basis = "offence-data"\ndecision = "permit"\n'
    )
    return f'version = "t1"\n{table}\n{rule}'.encode()


def test_default_quorum_is_two_agencies_of_two_kinds() -> None:
    assert BUNDLED.witness == WitnessQuorum(2, 2, 30)
    assert BUNDLED.to_json()["witness"] == {"quorum": 2, "distinct_kinds": 2, "grace_minutes": 30}
    assert WitnessQuorum().met({"police": "police", "nhs": "health"})
    assert not WitnessQuorum().met({"police": "police", "police-b": "police"})
    assert not WitnessQuorum().met({"police": "police"})
    assert WitnessQuorum(0, 0, 30).met({})


def test_a_witness_table_is_read() -> None:
    table = "[witness]\nquorum = 3\ndistinct_kinds = 1\ngrace_minutes = 5\n"
    assert check_policy(_with(table)) == []


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ("witness = 3", "witness must be a table"),
        ("[witness]\nquorum = -1", "quorum must be a whole number"),
        ("[witness]\nquorum = true", "quorum must be a whole number"),
        ("[witness]\nquorum = 1000", "quorum must be a whole number"),
        ("[witness]\ngrace_minutes = 0", "grace_minutes must be a whole number"),
        ('[witness]\ndistinct_kinds = "2"', "distinct_kinds must be a whole number"),
        ("[witness]\nquorm = 2", "unknown key 'quorm'"),
    ],
)
def test_bad_witness_tables_are_refused(table: str, error: str) -> None:
    assert any(error in line for line in check_policy(_with(table)))
