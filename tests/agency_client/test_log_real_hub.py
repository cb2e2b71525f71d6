"""``agency-client log check`` against a real hub on loopback: honest, and three malicious hubs.

Each malicious hub is the real one, manipulated the way an insider with the database and
the hub's signing key could: a rewritten entry (and its Merkle nodes) under a newly signed
head, a forked head of the same size, a key entry for a key the agency never made. The
manipulations use the hub's own engine (``hub.app[ENGINE]``), ``hub.log``'s append and
the hub's identity key; nothing is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from agency_helpers import FAST, PASS, Agency, enrolled, notice
from sqlalchemy import delete, insert, select

from agency_client.cli import main
from agency_client.rotation import KeyRotation
from agency_client.runner import Runner
from hub.crypto import merkle
from hub.crypto.keys import EncryptionKeyPair
from hub.crypto.tree_head import sign_tree_head
from hub.log import LogEntry, append
from hub.log.entries import EntryKey
from hub.log.heads import sign_head
from hub.log.store import prepare
from hub.log.tables import log_blocks, log_entries, log_heads, log_nodes
from hub.protocol import SUITE_X25519
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub


@pytest.fixture
async def police(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Agency]:
    monkeypatch.setenv("AGENCY_CLIENT_PASSPHRASE", PASS)
    agency = await enrolled(http, hub, tmp_path / "agencies", "police-north")
    yield agency
    await agency.client.close()
    agency.store.close()


async def receive(hub: RunningHub, http: aiohttp.ClientSession, agency: Agency, n: int) -> None:
    """The coordinator sends ``n`` notices; the agency's runner receives and checks them."""
    for i in range(n):
        await notice(http, hub, f"Notice {i}.", to=agency.id)
    hub_key = agency.store.hub_key()
    assert hub_key is not None
    rotation = KeyRotation(agency.client, agency.store, agency.data.keys, PASS, strength=FAST)
    runner = Runner(agency.client, agency.store, rotation, hub_key, None)
    report = await runner.cycle(wait=5)
    assert report is not None and report.stored == n


async def log_check(agency: Agency, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """``agency-client log check --dir``: its exit status and its lines."""
    capsys.readouterr()
    status = await asyncio.to_thread(main, ["log", "check", "--dir", str(agency.data.path)])
    out, err = capsys.readouterr()
    return status, (out + err).splitlines()


async def rewrite_entry(hub: RunningHub, index: int) -> None:
    """Replace entry ``index``'s bytes and recompute every stored node, as a rewriter would."""
    async with hub.app[ENGINE].begin() as conn:
        rows = (await conn.execute(select(log_entries.c.entry).order_by(log_entries.c.idx))).all()
        entries = [bytes(r.entry) for r in rows]
        entries[index] = entries[index].replace(b'"actor":"', b'"actor":"x')
        rows = prepare(0, [], entries)  # every hash recomputed, as a rewriter would
        for table in (log_nodes, log_blocks, log_entries):
            await conn.execute(delete(table))
        for table, columns, batch in (
            (log_entries, ("idx", "entry"), rows.entries),
            (log_blocks, ("block", "size", "hashes"), rows.blocks),
            (log_nodes, ("level", "position", "hash"), rows.nodes),
        ):
            if batch:
                await conn.execute(
                    insert(table), [dict(zip(columns, r, strict=True)) for r in batch]
                )


async def sign_forged_head(hub: RunningHub, entries: list[bytes]) -> None:
    """Store a head signed with the hub's key over ``entries`` (not the stored tree)."""
    head = sign_tree_head(
        hub.keys.identity,
        hub.settings.hub_id,
        len(entries),
        merkle.root(entries),
        datetime.now(UTC),
    )
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(
            insert(log_heads).values(
                size=head.size, root=head.root, timestamp=head.timestamp, signature=head.signature
            )
        )


async def test_an_honest_hub_passes(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, capsys: pytest.CaptureFixture[str]
) -> None:
    await receive(hub, http, police, 3)
    assert police.store.log_check_counts() == {"verified": 3, "failed": 0, "pending": 0}
    await KeyRotation(police.client, police.store, police.data.keys, PASS, strength=FAST).rotate()
    await receive(hub, http, police, 2)
    status, lines = await log_check(police, capsys)
    assert status == 0, lines
    assert "envelopes: 5 verified, 0 pending, 0 failed" in lines
    assert "key entries checked: 3" in lines  # identity and key at enrolment, one rotation
    assert "alarms: 0" in lines
    assert all(h.status == "consistent" for h in police.store.log_heads())


async def test_a_hub_that_rewrites_history_is_caught(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, capsys: pytest.CaptureFixture[str]
) -> None:
    await receive(hub, http, police, 2)
    assert (await log_check(police, capsys))[0] == 0
    await rewrite_entry(hub, 0)
    async with hub.app[ENGINE].begin() as conn:  # and carries on appending
        await append(conn, [LogEntry(kind="refusal", at=datetime.now(UTC), actor="hub")])
    await sign_head(hub.app[ENGINE], hub.keys.identity, hub.settings.hub_id)
    status, lines = await log_check(police, capsys)
    assert status == 1
    assert any("alarm (fork)" in line and "forked or rewritten" in line for line in lines), lines


async def test_a_hub_that_forks_its_log_is_caught(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, capsys: pytest.CaptureFixture[str]
) -> None:
    await receive(hub, http, police, 2)
    assert (await log_check(police, capsys))[0] == 0
    async with hub.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(log_entries.c.entry).order_by(log_entries.c.idx))).all()
    other = [bytes(r.entry) for r in rows]
    other[-1] = other[-1].replace(b'"actor":"', b'"actor":"x')
    await sign_forged_head(hub, other)  # the same size, another root: shown to this agency
    status, lines = await log_check(police, capsys)
    assert status == 1
    assert any(f"two heads of size {len(other)} with different roots" in line for line in lines), (
        lines
    )


async def test_a_hub_that_swaps_the_agencys_key_is_caught(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, capsys: pytest.CaptureFixture[str]
) -> None:
    await receive(hub, http, police, 1)
    assert (await log_check(police, capsys))[0] == 0
    planted = EncryptionKeyPair.generate()
    async with hub.app[ENGINE].begin() as conn:
        key = EntryKey(role="encryption", fingerprint=planted.fingerprint, suite=SUITE_X25519)
        entry = LogEntry(
            kind="key_rotated", at=datetime.now(UTC), actor="hub", agency=police.id, key=key
        )
        await append(conn, [entry])
    await sign_head(hub.app[ENGINE], hub.keys.identity, hub.settings.hub_id)
    status, lines = await log_check(police, capsys)
    assert status == 1
    assert (
        "alarm (keys): the hub registered a key this agency did not make: "
        f"encryption {planted.fingerprint} (key_rotated)"
    ) in lines
