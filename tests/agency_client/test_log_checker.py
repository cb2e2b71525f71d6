"""LogChecker against a scripted log server on loopback: honest, forked and hostile answers.

The server speaks the log API of docs/internals.md from an in-memory RFC 9162 tree (built
with hub.crypto.merkle, heads signed with hub.crypto.tree_head), so each way a hub can lie
is one line of script. The client side is all real: HubClient over HTTP, the SQLite store.
The same checks against the real hub are in test_log_real_hub.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agency_helpers import FAST, PASS, sealed
from aiohttp import web

from agency_client.cli import main
from agency_client.datadir import DataDir
from agency_client.hub_client import HubClient
from agency_client.keystore import IDENTITY_FILE
from agency_client.store import Store
from agency_client.transparency.checker import LogChecker
from agency_client.transparency.entries import KnownKeys
from hub.crypto import merkle
from hub.crypto.keyfile import write_key_file
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import open_envelope
from hub.crypto.tree_head import SignedTreeHead, sign_tree_head
from hub.protocol import SUITE_X25519, Envelope
from hub.protocol.canonical import b64encode, canonical_json

AGENCY = "police-north"
Override = Callable[[web.Request], Any]


def entry(**fields: Any) -> bytes:
    """A log entry as the hub writes it."""
    return canonical_json({"v": 1, "at": "2026-11-23T10:00:00.000000Z", "actor": "hub", **fields})


def disclosure(envelope: Envelope, recipient: str = AGENCY) -> bytes:
    return entry(
        kind="disclosure",
        envelope_id=envelope.header.id,
        envelope_sha256=envelope.digest(),
        recipient=recipient,
    )


def key_entry(fingerprint: str, role: str = "encryption", agency: str = AGENCY) -> bytes:
    key = {"role": role, "fingerprint": fingerprint, "suite": SUITE_X25519}
    return entry(kind="key_registered", agency=agency, key=key)


@dataclass
class ScriptedLog:
    """An in-memory log that answers the log API; tests tamper with it directly."""

    identity: IdentityKeyPair
    entries: list[bytes] = field(default_factory=list)
    overrides: dict[str, Override] = field(default_factory=dict)
    logged: dict[str, int] = field(default_factory=dict)  # envelope id -> index

    def head(self, size: int | None = None) -> SignedTreeHead:
        size = len(self.entries) if size is None else size
        root = merkle.root(self.entries[:size])
        return sign_tree_head(self.identity, "hub", size, root, datetime.now(UTC))

    def inclusion(self, index: int) -> dict[str, Any]:
        return {
            "index": index,
            "entry": b64encode(self.entries[index]),
            "head": self.head().to_json(),
            "proof": [b64encode(p) for p in merkle.inclusion_proof(self.entries, index)],
        }

    def app(self) -> web.Application:
        routes = web.RouteTableDef()

        @routes.get("/api/v1/log/{what}")
        async def answer(request: web.Request) -> web.StreamResponse:
            what = request.match_info["what"]
            if what in self.overrides:
                result = self.overrides[what](request)
                return (
                    result if isinstance(result, web.StreamResponse) else web.json_response(result)
                )
            return web.json_response(self._honest(what, request.query))

        app = web.Application()
        app.add_routes(routes)
        return app

    def _honest(self, what: str, query: Any) -> Any:
        if what == "head":
            return self.head().to_json()
        if what == "inclusion":
            if query["envelope_id"] in self.logged:
                return self.inclusion(self.logged[query["envelope_id"]])
            raise web.HTTPNotFound(
                text='{"type": "https://marac-hub.org/problems/unknown-envelope"}',
                content_type="application/problem+json",
            )
        if what == "consistency":
            old, new = int(query["from"]), int(query["to"])
            proof = merkle.consistency_proof(self.entries[:new], old)
            return {"from": old, "to": new, "proof": [b64encode(p) for p in proof]}
        indices = [i for i, raw in enumerate(self.entries) if b'"kind":"key_' in raw]
        return {
            "head": self.head().to_json(),
            "entries": [
                {k: v for k, v in self.inclusion(i).items() if k != "head"} for i in indices
            ],
        }


@dataclass
class Setup:
    log: ScriptedLog
    store: Store
    checker: LogChecker
    key: EncryptionKeyPair
    identity: IdentityKeyPair
    data: DataDir

    def receive(self, logged: bool = True) -> Envelope:
        """An envelope the client received and stored (and the hub logged)."""
        envelope = sealed(self.log.identity, self.key, to=AGENCY)
        opened = open_envelope(envelope, recipient=self.key, sender=self.log.identity.public)
        self.store.add(opened, envelope.digest(), datetime.now(UTC))
        if logged:
            self.log.logged[envelope.header.id] = len(self.log.entries)
            self.log.entries.append(disclosure(envelope))
        return envelope

    def known(self) -> KnownKeys:
        return KnownKeys(self.identity.fingerprint, {self.key.fingerprint: SUITE_X25519})


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    log = ScriptedLog(IdentityKeyPair.generate())
    runner = web.AppRunner(log.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    data = DataDir(tmp_path / "police")
    identity, key = IdentityKeyPair.generate(), EncryptionKeyPair.generate()
    store = data.open_store(identity, create=True)  # the key files: only for the CLI
    store.record_enrolment(
        agency_id=AGENCY, hub_url=url, hub_key=log.identity.public, key=key, now=datetime.now(UTC)
    )
    log.entries.append(entry(kind="agency_status", agency="idva-east", status="active"))
    async with HubClient(url, AGENCY, identity) as client:
        checker = LogChecker(client, store, log.identity.public)
        yield Setup(log, store, checker, key, identity, data)
    store.close()
    await runner.cleanup()


def alarms(store: Store) -> list[str]:
    return [f"{a.kind}: {a.reason}" for a in store.alarms()]


async def test_an_honest_log_verifies_every_envelope_and_every_head(setup: Setup) -> None:
    received = [setup.receive() for _ in range(3)]
    report = await setup.checker.check_envelopes()
    assert (report.verified, report.failed, report.pending, report.alarms) == (3, 0, 0, [])
    assert setup.store.log_check_counts() == {"verified": 3, "failed": 0, "pending": 0}
    [head] = setup.store.log_heads()
    assert (head.head.size, head.status) == (4, "consistent")

    # The log grows: each new head must extend the last, and does.
    for _ in range(5):
        setup.log.entries.append(entry(kind="refusal", recipient="idva-east"))
        await setup.checker.check_newest()
    received.append(setup.receive())
    report = await setup.checker.check_envelopes()
    assert report.verified == 1 and alarms(setup.store) == []
    assert [(h.head.size, h.status) for h in setup.store.log_heads()] == [
        (size, "consistent") for size in (4, 5, 6, 7, 8, 9, 10)
    ]
    # Checked envelopes are not fetched again.
    assert (await setup.checker.check_envelopes()).verified == 0


async def test_a_forked_head_of_the_same_size_is_an_alarm(setup: Setup) -> None:
    setup.receive()
    await setup.checker.check_envelopes()
    setup.log.entries[0] = entry(kind="agency_status", agency="idva-east", status="suspended")
    report = await setup.checker.check_newest()
    assert report.alarms == [
        "the hub signed two heads of size 2 with different roots: its log was forked or rewritten"
    ]
    assert [h.status for h in setup.store.log_heads()] == ["consistent", "failed"]


async def test_a_rewritten_history_fails_the_consistency_proof(setup: Setup) -> None:
    setup.receive()
    await setup.checker.check_envelopes()
    setup.log.entries[0] = entry(kind="agency_status", agency="idva-east", status="suspended")
    setup.receive()  # the hub appends after rewriting: a bigger head, not an extension
    report = await setup.checker.check_envelopes()
    assert report.verified == 1  # the new envelope is in the new tree ...
    assert alarms(setup.store) == [  # ... but that tree is not the one seen before
        "fork: the hub's head of size 2 is not a prefix of its head of size 3: "
        "its log was forked or rewritten"
    ]
    # Later heads are still checked against the last head found consistent.
    setup.log.entries.append(entry(kind="refusal", recipient="idva-east"))
    report = await setup.checker.check_newest()
    assert len(report.alarms) == 1 and len(setup.store.alarms()) == 2


async def test_a_smaller_head_passes_only_as_a_prefix_of_the_newest(setup: Setup) -> None:
    setup.receive()
    setup.receive()
    await setup.checker.check_envelopes()
    honest = setup.log.head(2)
    setup.log.overrides["head"] = lambda _: honest.to_json()
    assert (await setup.checker.check_newest()).alarms == []  # stale, but a true prefix
    setup.log.entries[0] = entry(kind="agency_status", agency="idva-east", status="suspended")
    shrunk = setup.log.head(1)
    setup.log.overrides["head"] = lambda _: shrunk.to_json()
    report = await setup.checker.check_newest()
    assert report.alarms == [
        "the hub's head of size 1 is not a prefix of its head of size 3: "
        "its log was forked or rewritten"
    ]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (
            lambda s, e: disclosure(sealed(s.log.identity, s.key, to=AGENCY)),
            "names another envelope",
        ),
        (
            lambda s, e: disclosure(e, recipient="idva-east"),
            "names another recipient",
        ),
        (
            lambda s, e: entry(kind="refusal", envelope_id=e.header.id, recipient=AGENCY),
            "is not a disclosure",
        ),
        (
            lambda s, e: disclosure(e).replace(e.digest().encode(), b"0" * 64),
            "has another envelope digest",
        ),
        (
            lambda s, e: disclosure(e).replace(b'{"actor"', b'{ "actor"'),
            "is not canonical JSON",
        ),
        (
            lambda s, e: b'{"v": 2}',
            "is not canonical JSON",
        ),
        (
            lambda s, e: b"\xff\xfe not json",
            "the log entry for envelope",
        ),
    ],
)
async def test_an_entry_that_does_not_log_this_envelope_is_an_alarm(
    setup: Setup, tamper: Callable[[Setup, Envelope], bytes], reason: str
) -> None:
    envelope = setup.receive()
    setup.log.entries[-1] = tamper(setup, envelope)
    report = await setup.checker.check_envelopes()
    assert (report.verified, report.failed) == (0, 1)
    [alarm] = setup.store.alarms()
    assert alarm.kind == "inclusion" and reason in alarm.reason
    assert envelope.header.id in alarm.reason
    assert setup.store.log_check_counts()["failed"] == 1


def _inclusion_with(setup: Setup, **changes: Any) -> Override:
    def answer(request: web.Request) -> Any:
        index = len(setup.log.entries) - 1
        return {**setup.log.inclusion(index), **changes}

    return answer


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"proof": [b64encode(b"\x00" * 31)]}, "unusable (malformed)"),
        ({"proof": [b64encode(b"\x00" * 32)] * 65}, "unusable (malformed)"),
        ({"proof": "not a list"}, "unusable (malformed)"),
        ({"proof": [7]}, "unusable (malformed)"),
        ({"proof": []}, "does not verify"),
        ({"index": 0}, "does not verify"),
        ({"index": -1}, "unusable (malformed)"),
        ({"index": True}, "unusable (malformed)"),
        ({"index": 2**60}, "unusable (malformed)"),
        ({"entry": "!!"}, "unusable (bad-base64)"),
        ({"entry": "A" * 200_000}, "unusable (malformed)"),
        ({"head": {"size": 3}}, "unusable (bad-tree-head)"),
        ({"head": "head"}, "unusable (bad-tree-head)"),
    ],
)
async def test_a_hostile_inclusion_answer_is_an_alarm_not_a_crash(
    setup: Setup, changes: dict[str, Any], reason: str
) -> None:
    setup.receive()
    setup.log.overrides["inclusion"] = _inclusion_with(setup, **changes)
    report = await setup.checker.check_envelopes()
    assert (report.verified, report.failed) == (0, 1)
    [alarm] = setup.store.alarms()
    assert reason in alarm.reason, alarm.reason


async def test_a_head_not_signed_by_the_pinned_key_is_an_alarm(setup: Setup) -> None:
    setup.receive()
    forger = IdentityKeyPair.generate()
    size, root = len(setup.log.entries), merkle.root(setup.log.entries)
    forged = sign_tree_head(forger, "hub", size, root, datetime.now(UTC))
    setup.log.overrides["inclusion"] = _inclusion_with(setup, head=forged.to_json())
    report = await setup.checker.check_envelopes()
    assert report.failed == 1
    assert "is not signed by the pinned hub key" in alarms(setup.store)[0]
    assert setup.store.log_heads() == []


async def test_an_envelope_the_hub_did_not_log_is_an_alarm(setup: Setup) -> None:
    envelope = setup.receive(logged=False)
    report = await setup.checker.check_envelopes()
    assert report.failed == 1
    assert alarms(setup.store) == [
        f"inclusion: the hub says envelope {envelope.header.id} is not in its log"
    ]


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_hub_that_cannot_answer_now_leaves_envelopes_pending(
    setup: Setup, status: int
) -> None:
    setup.receive()
    setup.log.overrides["inclusion"] = lambda _: web.Response(status=status)
    report = await setup.checker.check_envelopes()
    assert (report.verified, report.failed, report.pending) == (0, 0, 1)
    assert report.unreachable is not None and setup.store.alarms() == []
    del setup.log.overrides["inclusion"]
    assert (await setup.checker.check_envelopes()).verified == 1


async def test_an_unreachable_consistency_proof_is_retried_later(setup: Setup) -> None:
    setup.receive()
    await setup.checker.check_envelopes()
    setup.receive()
    setup.log.overrides["consistency"] = lambda _: web.Response(status=502)
    report = await setup.checker.check_envelopes()
    assert report.verified == 1 and report.alarms == []
    assert [h.status for h in setup.store.log_heads()] == ["consistent", "pending"]
    del setup.log.overrides["consistency"]
    await setup.checker.settle_heads()
    assert [h.status for h in setup.store.log_heads()] == ["consistent", "consistent"]


@pytest.mark.parametrize(
    "answer",
    [
        {"from": 2, "to": 3, "proof": []},
        {"from": 1, "to": 3, "proof": [b64encode(b"\x01" * 32)]},
        {"to": 3, "proof": []},
        {"from": 2, "to": 3, "proof": [b64encode(b"\x01" * 33)]},
    ],
)
async def test_a_hostile_consistency_answer_is_an_alarm(
    setup: Setup, answer: dict[str, Any]
) -> None:
    setup.receive()
    await setup.checker.check_envelopes()
    setup.receive()
    setup.log.overrides["consistency"] = lambda _: answer
    report = await setup.checker.check_envelopes()
    [alarm] = report.alarms
    assert "size 2" in alarm and "3" in alarm
    assert [h.status for h in setup.store.log_heads()] == ["consistent", "failed"]


async def test_key_entries_naming_only_the_agencys_own_keys_pass(setup: Setup) -> None:
    setup.log.entries.append(key_entry(setup.identity.fingerprint, role="identity"))
    setup.log.entries.append(key_entry(setup.key.fingerprint))
    report = await setup.checker.check_keys(setup.known())
    assert (report.key_entries, report.alarms) == (2, [])


async def test_a_key_the_agency_did_not_make_is_an_alarm(setup: Setup) -> None:
    setup.log.entries.append(key_entry(setup.key.fingerprint))
    await setup.checker.check_keys(setup.known())
    planted = EncryptionKeyPair.generate().fingerprint
    setup.log.entries.append(key_entry(planted))
    report = await setup.checker.check_keys(setup.known())
    assert report.alarms == [
        f"the hub registered a key this agency did not make: encryption {planted} (key_registered)"
    ]
    # The same alarm again is counted, not repeated.
    await setup.checker.check_keys(setup.known())
    [alarm] = setup.store.alarms()
    assert (alarm.kind, alarm.count) == ("keys", 2)


async def test_a_key_entry_with_a_bad_proof_is_an_alarm(setup: Setup) -> None:
    setup.log.entries.append(key_entry(setup.key.fingerprint))

    def bad_proof(request: web.Request) -> Any:
        index = len(setup.log.entries) - 1
        item = {"index": index, "entry": b64encode(setup.log.entries[index]), "proof": []}
        return {"head": setup.log.head().to_json(), "entries": [item]}

    setup.log.overrides["keys"] = bad_proof
    report = await setup.checker.check_keys(setup.known())
    assert report.alarms == [
        "the inclusion proof of the key entry at index 1 does not verify against the head of size 2"
    ]


@pytest.mark.parametrize(
    "body",
    [{"entries": []}, {"head": None, "entries": []}, {"head": {}, "entries": "x"}, []],
)
async def test_a_malformed_key_answer_is_an_alarm(setup: Setup, body: Any) -> None:
    setup.log.overrides["keys"] = lambda _: body
    report = await setup.checker.check_keys(setup.known())
    [alarm] = report.alarms
    assert "this agency's key entries is unusable" in alarm


async def log_check(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[str]]:
    monkeypatch.setenv("AGENCY_CLIENT_PASSPHRASE", PASS)
    if not setup.data.keys.exists():
        write_key_file(setup.data.keys.path / IDENTITY_FILE, setup.identity, PASS, strength=FAST)
    capsys.readouterr()
    status = await asyncio.to_thread(main, ["log", "check", "--dir", str(setup.data.path)])
    out, err = capsys.readouterr()
    return status, (out + err).splitlines()


async def test_log_check_reports_all_well_and_exits_0(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.log.entries.append(key_entry(setup.key.fingerprint))
    setup.receive()
    setup.receive()
    status, lines = await log_check(setup, capsys, monkeypatch)
    assert (status, lines) == (
        0,
        [
            "heads seen: 1, newest size 4",
            "envelopes: 2 verified, 0 pending, 0 failed",
            "key entries checked: 1",
            "alarms: 0",
        ],
    )


async def test_log_check_names_each_problem_and_exits_1(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.receive()
    assert (await log_check(setup, capsys, monkeypatch))[0] == 0
    lost = setup.receive(logged=False)
    planted = EncryptionKeyPair.generate().fingerprint
    setup.log.entries.append(key_entry(planted))
    status, lines = await log_check(setup, capsys, monkeypatch)
    assert status == 1
    assert lines[1:4] == [
        "envelopes: 1 verified, 0 pending, 1 failed",
        "key entries checked: 1",
        "alarms: 2",
    ]
    assert lines[4:] == [
        "alarm (keys): the hub registered a key this agency did not make: "
        f"encryption {planted} (key_registered)",
        f"alarm (inclusion): the hub says envelope {lost.header.id} is not in its log",
    ]


async def test_log_check_with_the_hub_down_is_not_all_well(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.receive()
    for what in ("head", "keys", "inclusion"):
        setup.log.overrides[what] = lambda _: web.Response(status=503)
    status, lines = await log_check(setup, capsys, monkeypatch)
    assert status == 1
    assert "envelopes: 0 verified, 1 pending, 0 failed" in lines
    assert "alarms: 0" in lines
    assert lines[-1].startswith("not checked, retry later: http-503")
