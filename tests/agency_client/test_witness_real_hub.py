"""``agency-client witness`` against a real hub on loopback: two agencies of two kinds
cosign the log's checkpoints; a hub that rewrites its history with its stolen key, rolls
its log back, or loses a cosignature is caught; hostile cosignature posts are refused.

The attacks manipulate the real hub the way an insider with the database and the hub's
signing key could (its engine, ``hub.log``'s append, its identity key); nothing is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from agency_helpers import PASS, Agency, enrolled, notice
from sqlalchemy import delete, func, select
from test_log_real_hub import rewrite_entry

from agency_client.cli import main
from agency_client.transparency.checker import LogChecker
from agency_client.witness import load_state
from hub.crypto import merkle
from hub.crypto.checkpoint import Checkpoint, Cosigner, checkpoint_origin, witness_name
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.signed_note import b64_std, parse_note
from hub.crypto.tree_head import sign_tree_head
from hub.delivery.tables import alerts
from hub.log import LogEntry, append
from hub.log.heads import checkpoint_note, sign_head
from hub.log.tables import log_cosignatures, log_entries, log_heads
from hub.protocol.errors import HubError
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub


@pytest.fixture
async def witnesses(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Agency, Agency]]:
    """Police and health, enrolled and approved."""
    monkeypatch.setenv("AGENCY_CLIENT_PASSPHRASE", PASS)
    police = await enrolled(http, hub, tmp_path / "agencies", "police-north", "police")
    health = await enrolled(http, hub, tmp_path / "agencies", "nhs-north", "health")
    yield police, health
    for agency in (police, health):
        await agency.client.close()
        agency.store.close()


async def witness(agency: Agency, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``agency-client witness --dir``: exit status and output."""
    capsys.readouterr()
    status = await asyncio.to_thread(main, ["witness", "--dir", str(agency.data.path)])
    out, err = capsys.readouterr()
    return status, out + err


async def grow(hub: RunningHub, n: int = 1) -> None:
    """Append ``n`` entries and sign a head, as the hub does."""
    async with hub.app[ENGINE].begin() as conn:
        await append(
            conn, [LogEntry(kind="refusal", at=datetime.now(UTC), actor="hub") for _ in range(n)]
        )
    await sign_head(hub.app[ENGINE], hub.keys.identity, hub.settings.hub_id)


async def checkpoint(http: aiohttp.ClientSession, hub: RunningHub) -> tuple[str, str]:
    """``GET /api/v1/log/checkpoint`` as staff: the content type and the note."""
    headers = {"Authorization": f"Bearer {hub.admin_token}"}
    async with http.get(hub.url + "/api/v1/log/checkpoint", headers=headers) as resp:
        assert resp.status == 200
        return resp.headers["Content-Type"], await resp.text()


async def status_of(http: aiohttp.ClientSession, hub: RunningHub) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {hub.admin_token}"}
    async with http.get(hub.url + "/api/v1/log/witnesses", headers=headers) as resp:
        assert resp.status == 200
        doc: dict[str, Any] = await resp.json()
        return doc


async def test_two_agencies_of_two_kinds_witness_the_log(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    police, health = witnesses
    await notice(http, hub, "Hello.", to=police.id)
    await grow(hub)
    for agency in witnesses:
        status, out = await witness(agency, capsys)
        assert status == 0, out
        assert "cosigned the hub's checkpoint of size" in out
    kind, note = await checkpoint(http, hub)
    assert kind == "text/plain; charset=utf-8"
    origin = checkpoint_origin(hub.settings.hub_id)
    parsed = parse_note(note)
    assert parsed.text.startswith(f"{origin}\n")
    assert [s.name for s in parsed.signatures] == [
        origin,
        witness_name(police.id, origin),
        witness_name(health.id, origin),
    ]
    doc = await status_of(http, hub)
    assert doc["newest_has_quorum"] is True
    assert {w["agency_id"]: w["kind"] for w in doc["witnesses"]} == {
        police.id: "police",
        health.id: "health",
    }
    assert (await witness(police, capsys))[1].startswith("already cosigned")
    await grow(hub, 3)  # the log grows: a consistency proof from the cosigned size
    status, out = await witness(police, capsys)
    assert status == 0 and "cosigned" in out, out
    state = load_state(police.store, police.identity)
    assert state is not None and state.size == Checkpoint.parse(parsed.text).size + 3


async def test_a_rewritten_history_resigned_with_the_stolen_hub_key_is_refused_and_reported(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    police, _ = witnesses
    await grow(hub, 4)
    assert (await witness(police, capsys))[0] == 0
    await rewrite_entry(hub, 1)  # every hash recomputed
    await grow(hub)  # and a new checkpoint signed with the hub's (stolen) key
    status, out = await witness(police, capsys)
    assert status == 1
    assert "LOG FORK" in out and "not consistent" in out and "NOT cosigned" in out
    assert police.store.alarms()[-1].kind == "witness"
    doc = await status_of(http, hub)
    assert [(a["agency_id"], a["problem"]) for a in doc["alarms"]] == [(police.id, "inconsistent")]
    async with hub.app[ENGINE].connect() as conn:
        kinds = (await conn.execute(select(alerts.c.kind, alerts.c.agency_id))).all()
    assert ("log-fork", police.id) in [tuple(r) for r in kinds]
    await grow(hub)  # the hub carries on; the witness keeps refusing, one alarm and alert
    assert (await witness(police, capsys))[0] == 1
    assert len((await status_of(http, hub))["alarms"]) == 1
    async with hub.app[ENGINE].connect() as conn:
        forks = await conn.execute(
            select(func.count()).select_from(alerts).where(alerts.c.kind == "log-fork")
        )
    assert forks.scalar_one() == 1


async def test_a_log_rolled_back_below_a_cosigned_checkpoint_is_refused(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    police, _ = witnesses
    await grow(hub, 5)
    assert (await witness(police, capsys))[0] == 0
    async with hub.app[ENGINE].begin() as conn:  # the insider drops the last entries
        size = (await conn.execute(select(func.count()).select_from(log_entries))).scalar_one()
        await conn.execute(delete(log_heads))
        await conn.execute(delete(log_entries).where(log_entries.c.idx >= size - 2))
        rows = (await conn.execute(select(log_entries.c.entry).order_by(log_entries.c.idx))).all()
    # A head and checkpoint of the smaller size over its true root, signed with the key.
    entries = [bytes(r.entry) for r in rows]
    root = merkle.root(entries)
    head = sign_tree_head(
        hub.keys.identity, hub.settings.hub_id, len(entries), root, datetime.now(UTC)
    )
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(
            log_heads.insert().values(
                size=head.size,
                root=head.root,
                timestamp=head.timestamp,
                signature=head.signature,
                checkpoint=checkpoint_note(
                    hub.keys.identity, hub.settings.hub_id, head.size, head.root
                ),
            )
        )
    status, out = await witness(police, capsys)
    assert status == 1
    assert "smaller than the one of size" in out and "rolled back" in out


async def test_a_deleted_cosignature_is_posted_again_by_its_witness(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    police, _ = witnesses
    await grow(hub, 2)
    assert (await witness(police, capsys))[0] == 0
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(delete(log_cosignatures))
    status, out = await witness(police, capsys)
    assert status == 0
    assert "had lost this agency's cosignature" in out
    _, note = await checkpoint(http, hub)
    assert witness_name(police.id, checkpoint_origin(hub.settings.hub_id)) in note


async def _post(
    hub: RunningHub, agency: Agency, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    try:
        return 201, await agency.client.request("POST", path, body, signed=True)
    except HubError as exc:
        return getattr(exc, "http_status", 0), {"code": exc.code}


async def test_hostile_cosignature_posts_are_refused(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    police, health = witnesses
    await grow(hub, 2)
    _, note = await checkpoint(http, hub)
    parsed = parse_note(note)
    cp = Checkpoint.parse(parsed.text)
    origin = cp.origin
    now = int(datetime.now(UTC).timestamp())

    def cosigned(name: str, key: IdentityKeyPair, checkpoint: Checkpoint = cp) -> str:
        line = Cosigner(name, key).cosign(checkpoint, now)
        return parsed.with_signatures([line]).encode().decode()

    cases = {
        # police posting health's name with police's key: not its cosignature
        "impersonation": cosigned(witness_name(health.id, origin), police.identity),
        # a stranger's key under police's name
        "foreign key": cosigned(witness_name(police.id, origin), IdentityKeyPair.generate()),
        # a checkpoint the hub never signed (another root), cosigned properly
        "unsigned checkpoint": (
            f"{origin}\n{cp.size}\n{b64_std(bytes(32))}\n\n"
            + parsed.signatures[0].line()
            + Cosigner(witness_name(police.id, origin), police.identity)
            .cosign(Checkpoint(origin, cp.size, bytes(32)), now)
            .line()
        ),
        "not a note": "hello",
        "oversized": "x" * 20_000,
    }
    for name, body in cases.items():
        status, doc = await _post(hub, police, "/log/cosignatures", {"checkpoint": body})
        assert status == 400, (name, doc)
    status, doc = await _post(hub, police, "/log/cosignatures", {"checkpoint": note, "extra": 1})
    assert status == 400 and doc["code"] == "unknown-field"
    status, doc = await _post(
        hub,
        police,
        "/log/witness-alarms",
        {"problem": "boredom", "cosigned": note, "offered": note},
    )
    assert status == 400
    async with hub.app[ENGINE].connect() as conn:
        assert (
            await conn.execute(select(func.count()).select_from(log_cosignatures))
        ).scalar_one() == 0


async def test_run_witnesses_and_shouts_on_a_fork(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    police, _ = witnesses
    await grow(hub, 2)
    argv = ["run", "--once", "--dir", str(police.data.path)]
    capsys.readouterr()
    assert await asyncio.to_thread(main, argv) == 0
    assert "witness: cosigned the hub's checkpoint" in capsys.readouterr().err
    await rewrite_entry(hub, 0)
    await grow(hub)
    assert await asyncio.to_thread(main, argv) == 1
    err = capsys.readouterr().err
    assert "LOG FORK" in err and "NOT cosigned" in err


async def test_who_may_read_checkpoints_and_witnesses_and_who_may_cosign(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
) -> None:
    police, _ = witnesses
    await grow(hub)
    tokens = {
        "dpo": await hub.add_user("dana", "dpo"),
        "coordinator": await hub.add_user("casey", "coordinator"),
        "admin": hub.admin_token,
    }
    expected = {"dpo": 200, "admin": 200, "coordinator": 403, "anonymous": 401}
    for path in ("/api/v1/log/checkpoint", "/api/v1/log/witnesses"):
        for who, want in expected.items():
            headers = {"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
            async with http.get(hub.url + path, headers=headers) as resp:
                assert resp.status == want, (path, who, await resp.text())
    assert (await police.client.log_checkpoint()).startswith("marac-hub.")  # an agency
    note = await police.client.log_checkpoint()
    for path, body in (
        ("/api/v1/log/cosignatures", {"checkpoint": note}),
        ("/api/v1/log/witness-alarms", {"problem": "smaller", "cosigned": note, "offered": note}),
    ):  # staff may not post as a witness: only a signed agency request
        for who in ("admin", "dpo"):
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            async with http.post(hub.url + path, json=body, headers=headers) as resp:
                assert resp.status == 401, (path, who, await resp.text())
    async with hub.app[ENGINE].connect() as conn:
        assert (
            await conn.execute(select(func.count()).select_from(log_cosignatures))
        ).scalar_one() == 0


async def test_a_checkpoint_signed_with_another_key_is_refused(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    police, _ = witnesses
    await grow(hub)
    assert (await witness(police, capsys))[0] == 0
    await grow(hub)
    impostor = IdentityKeyPair.generate()  # a key the agency never pinned
    async with hub.app[ENGINE].begin() as conn:
        newest = (
            await conn.execute(select(log_heads).order_by(log_heads.c.id.desc()).limit(1))
        ).one()
        forged = checkpoint_note(impostor, hub.settings.hub_id, newest.size, bytes(newest.root))
        await conn.execute(
            log_heads.update().where(log_heads.c.id == newest.id).values(checkpoint=forged)
        )
    status, out = await witness(police, capsys)
    assert status == 1
    assert out.strip().splitlines() == [
        "agency-client: bad-checkpoint: the hub's checkpoint is not signed by the pinned hub key"
    ]
    assert police.store.alarms()[-1].kind == "witness"
    state = load_state(police.store, police.identity)
    assert state is not None and state.size == newest.size - 1  # not cosigned


async def test_a_first_witness_refuses_a_log_that_does_not_extend_the_heads_it_checked(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    witnesses: tuple[Agency, Agency],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Not trust on first use when the client's log check already saw heads: the first
    checkpoint it cosigns must extend the largest of them."""
    police, _ = witnesses
    await grow(hub, 3)
    hub_key = police.store.hub_key()
    assert hub_key is not None
    await LogChecker(police.client, police.store, hub_key).check_newest()
    assert [h.status for h in police.store.log_heads()] == ["consistent"]
    await rewrite_entry(hub, 1)
    await grow(hub)
    status, out = await witness(police, capsys)
    assert status == 1 and "does not extend its head of size" in out, out
    assert load_state(police.store, police.identity) is None  # nothing cosigned
