"""The pure parts of the log check: strict parsers of the log API and the entry rules."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agency_client.store import Store
from agency_client.transparency.entries import (
    KnownKeys,
    check_disclosure,
    check_key_entry,
    decode_entry,
    proves_inclusion,
)
from agency_client.transparency.wire import (
    MAX_PROOF,
    parse_consistency,
    parse_inclusion,
    parse_key_entries,
)
from hub.crypto import merkle
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.tree_head import sign_tree_head
from hub.protocol import SUITE_HYBRID, SUITE_X25519
from hub.protocol.canonical import b64encode, canonical_json
from hub.protocol.errors import ProtocolError

HUB = IdentityKeyPair.generate()
ENTRIES = [canonical_json({"v": 1, "kind": "refusal", "n": n}) for n in range(7)]
HEAD = sign_tree_head(HUB, "hub", 7, merkle.root(ENTRIES), datetime.now(UTC))
IDENTITY, ENCRYPTION, OTHER = "a" * 64, "b" * 64, "c" * 64
KNOWN = KnownKeys(IDENTITY, {ENCRYPTION: SUITE_X25519})


def inclusion(at: int = 3, **changes: Any) -> dict[str, Any]:
    proof = merkle.inclusion_proof(ENTRIES, at)
    answer = {
        "index": at,
        "entry": b64encode(ENTRIES[at]),
        "head": HEAD.to_json(),
        "proof": [b64encode(p) for p in proof],
    }
    return {**answer, **changes}


def test_an_honest_inclusion_parses_and_proves() -> None:
    for index in range(7):
        parsed = parse_inclusion(inclusion(index))
        assert parsed.head == HEAD and parsed.entry == ENTRIES[index]
        assert proves_inclusion(parsed.index, parsed.entry, parsed.proof, parsed.head)
        assert not proves_inclusion((index + 1) % 7, parsed.entry, parsed.proof, parsed.head)


@pytest.mark.parametrize(
    "changes",
    [
        {"index": "3"},
        {"index": 3.0},
        {"index": None},
        {"index": 2**53},
        {"entry": 3},
        {"entry": "a+b/"},
        {"entry": "A" * 100_000},
        {"proof": {}},
        {"proof": ["AA"]},
        {"proof": [b64encode(b"x" * 64)]},
        {"proof": [b64encode(b"x" * 32)] * (MAX_PROOF + 1)},
        {"head": None},
        {"head": {**HEAD.to_json(), "size": -1}},
        {"head": {**HEAD.to_json(), "root": "AAAA"}},
        {"head": {**HEAD.to_json(), "timestamp": "yesterday"}},
    ],
)
def test_a_malformed_inclusion_answer_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_inclusion(inclusion(**changes))


@pytest.mark.parametrize("missing", ["index", "entry", "head", "proof"])
def test_an_inclusion_answer_lacking_a_field_is_refused(missing: str) -> None:
    answer = inclusion()
    del answer[missing]
    with pytest.raises(ProtocolError, match=missing):
        parse_inclusion(answer)


def test_consistency_answers_must_be_for_the_sizes_asked() -> None:
    proof = [b64encode(p) for p in merkle.consistency_proof(ENTRIES, 3)]
    assert len(parse_consistency({"from": 3, "to": 7, "proof": proof}, 3, 7)) == len(proof)
    for wrong in ({"from": 2, "to": 7}, {"from": 3, "to": 6}, {"from": True, "to": 7}):
        with pytest.raises(ProtocolError):
            parse_consistency({**wrong, "proof": proof}, 3, 7)


def test_key_answers_are_bounded_and_strict() -> None:
    item = {k: v for k, v in inclusion().items() if k != "head"}
    parsed = parse_key_entries({"head": HEAD.to_json(), "entries": [item]})
    assert len(parsed.entries) == 1 and parsed.entries[0].head == HEAD
    for body in (
        {"head": HEAD.to_json(), "entries": [item] * 10_001},
        {"head": HEAD.to_json(), "entries": ["x"]},
        {"head": HEAD.to_json(), "entries": [{"index": 1}]},
    ):
        with pytest.raises(ProtocolError):
            parse_key_entries(body)


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'{"kind":"disclosure"}',
        b'{"kind":"disclosure","v":2}',
        b'{"kind":1,"v":1}',
        b'{"v":1, "kind":"disclosure"}',
        b'{"kind":"disclosure","v":1,"v":1}',
        b"\x00",
    ],
)
def test_an_entry_must_be_canonical_json_of_version_1(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_entry(raw)


def test_a_disclosure_must_name_this_envelope_this_agency_and_this_digest() -> None:
    entry = {
        "v": 1,
        "kind": "disclosure",
        "envelope_id": "E1",
        "recipient": "police",
        "envelope_sha256": "d" * 64,
    }
    mine = {"envelope_id": "E1", "agency_id": "police", "envelope_sha256": "d" * 64}
    assert check_disclosure(entry, **mine) is None
    assert "another envelope" in str(check_disclosure({**entry, "envelope_id": "E2"}, **mine))
    assert "another recipient" in str(check_disclosure({**entry, "recipient": "idva"}, **mine))
    assert "digest" in str(check_disclosure({**entry, "envelope_sha256": "e" * 64}, **mine))
    assert "not a disclosure" in str(check_disclosure({**entry, "kind": "refusal"}, **mine))


def key_entry(
    role: str = "encryption", fingerprint: str = ENCRYPTION, **more: Any
) -> dict[str, Any]:
    key = {"role": role, "fingerprint": fingerprint, "suite": SUITE_X25519}
    return {"v": 1, "kind": "key_rotated", "agency": "police", "key": key, **more}


def test_key_entries_pass_only_for_keys_the_agency_made() -> None:
    assert check_key_entry(key_entry(), agency_id="police", known=KNOWN) is None
    identity = key_entry("identity", IDENTITY)
    assert check_key_entry(identity, agency_id="police", known=KNOWN) is None
    problems = {
        "foreign encryption": key_entry(fingerprint=OTHER),
        "foreign identity": key_entry("identity", OTHER),
        "role": key_entry("signing"),
        "agency": key_entry(agency="idva"),
        "kind": key_entry(kind="disclosure"),
        "no key": key_entry(key=None),
        "suite": key_entry(
            key={"role": "encryption", "fingerprint": ENCRYPTION, "suite": SUITE_HYBRID}
        ),
    }
    reasons = {k: check_key_entry(v, agency_id="police", known=KNOWN) for k, v in problems.items()}
    assert all(reasons.values()), reasons
    assert reasons["foreign encryption"] == (
        f"the hub registered a key this agency did not make: encryption {OTHER} (key_rotated)"
    )


def test_hostile_values_reach_no_reason_unbounded_or_with_control_characters() -> None:
    hostile = "x\n" * 10_000 + "\x1b[31m"
    reason = check_key_entry(key_entry(hostile, hostile), agency_id="police", known=KNOWN)
    assert reason is not None and len(reason) < 200 and reason.isprintable()
    reason = check_key_entry(key_entry(kind=hostile), agency_id="police", known=KNOWN)
    assert reason is not None and len(reason) < 200 and reason.isprintable()


def test_a_store_made_before_the_log_check_gains_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE config (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        old.execute("PRAGMA user_version = 1")
    with Store(path) as store:
        assert store.log_heads() == [] and store.alarms() == []
        assert store.log_check_counts() == {"verified": 0, "failed": 0, "pending": 0}
        assert store.add_log_head(HEAD, "consistent", datetime.now(UTC))
        assert not store.add_log_head(HEAD, "consistent", datetime.now(UTC))
        assert store.add_alarm("fork", "a reason", datetime.now(UTC))
        assert not store.add_alarm("fork", "a reason", datetime.now(UTC))
    with Store(path) as store:
        [head] = store.log_heads()
        assert head.head == HEAD and head.status == "consistent"
        [alarm] = store.alarms()
        assert (alarm.kind, alarm.count) == ("fork", 2)
