"""The log's HTTP API on a real hub: heads, proofs, key entries, search, export, verify."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import Agent, assert_problem, staff_call
from sqlalchemy import update

from hub.crypto import merkle
from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair
from hub.crypto.tree_head import SignedTreeHead
from hub.log import LogEntry, append, parse_entry, store
from hub.log.entries import EntryBasis
from hub.log.tables import log_entries
from hub.protocol.canonical import b64decode
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def log_disclosures(hub: RunningHub, *recipients: str) -> list[str]:
    """Append one disclosure entry per recipient (as the disclosure pipeline does)."""
    ids = [f"01JENV{len(r)}{i:019d}" for i, r in enumerate(recipients)]
    entries = [
        LogEntry(
            kind="disclosure",
            at=AT + timedelta(hours=i),
            actor="coordinator:sam",
            envelope_id=envelope_id,
            recipient=recipient,
            purpose="agenda",
            case_refs=(f"C-{i % 2}",),
            subject_ids=(f"S-{i}",),
            data_categories=("identity",),
            basis=EntryBasis(id="s115", version="1"),
        )
        for i, (envelope_id, recipient) in enumerate(zip(ids, recipients, strict=True))
    ]
    async with hub.app[ENGINE].begin() as conn:
        await append(conn, entries)
    return ids


def check_inclusion(hub: RunningHub, doc: dict[str, Any]) -> LogEntry:
    """The answer's proof ties its entry to a head the hub signed."""
    head = SignedTreeHead.from_json(doc["head"])
    head.verify(hub.keys.identity.public)
    data = b64decode(doc["entry"])
    proof = [b64decode(p) for p in doc["proof"]]
    assert merkle.verify_inclusion(
        merkle.leaf_hash(data), doc["index"], head.size, proof, head.root
    )
    return parse_entry(data)


async def test_key_entries_on_enrolment_rotation_and_revocation(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    status, doc = await agent.call("GET", "/api/v1/log/keys")
    assert status == 200, doc
    head = SignedTreeHead.from_json(doc["head"])
    head.verify(hub.keys.identity.public)
    entries = []
    for item in doc["entries"]:
        data = b64decode(item["entry"])
        proof = [b64decode(p) for p in item["proof"]]
        assert merkle.verify_inclusion(
            merkle.leaf_hash(data), item["index"], head.size, proof, head.root
        )
        entries.append(parse_entry(data))
    assert [(e.kind, e.key.role if e.key else None) for e in entries] == [
        ("key_registered", "identity"),
        ("key_registered", "encryption"),
    ]
    assert entries[0].key and entries[0].key.fingerprint == agent.identity.fingerprint
    assert entries[1].key and entries[1].key.fingerprint == agent.keys[0].public.fingerprint
    assert all(e.actor == "agency:police-north" and e.agency == "police-north" for e in entries)

    new_key = EncryptionKeyPair.generate()
    body = json.dumps(
        announce_key(agent.identity, agent.id, new_key.public, now=datetime.now(UTC)).to_json()
    ).encode()
    status, doc = await agent.call("POST", "/api/v1/keys", body)
    assert status == 201, doc
    status, doc = await agent.call("GET", "/api/v1/log/keys")
    rotated = [parse_entry(b64decode(i["entry"])) for i in doc["entries"]]
    assert rotated[-1].kind == "key_rotated"
    assert rotated[-1].key and rotated[-1].key.fingerprint == new_key.public.fingerprint

    await make_agency("health-east", kind="health")  # its entries are not police-north's
    status, doc = await staff_call(hub, http, "POST", "/api/v1/agencies/police-north/revoke")
    assert status == 200, doc
    status, doc = await staff_call(hub, http, "GET", "/api/v1/log/entries?agency=police-north")
    assert status == 200, doc
    kinds = [(e["entry"]["kind"], e["entry"].get("status")) for e in doc["entries"]]
    assert kinds == [
        ("key_registered", None),
        ("key_registered", None),
        ("agency_status", "active"),
        ("key_rotated", None),
        ("key_revoked", None),
        ("key_revoked", None),
        ("key_revoked", None),
        ("agency_status", "revoked"),
    ]


async def test_inclusion_by_envelope_only_for_its_recipient(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    north: Agent = await make_agency("police-north")
    east: Agent = await make_agency("health-east", kind="health")
    mine, theirs = await log_disclosures(hub, "police-north", "health-east")
    status, doc = await north.call("GET", "/api/v1/log/inclusion", query=f"envelope_id={mine}")
    assert status == 200, doc
    entry = check_inclusion(hub, doc)
    assert entry.envelope_id == mine and entry.recipient == "police-north"
    for query in (
        f"envelope_id={theirs}",
        "envelope_id=01JNOTLOGGED00000000000000",
        "envelope_id=" + "A" * 65,
    ):
        status, doc = await north.call("GET", "/api/v1/log/inclusion", query=query)
        expected = (400, "malformed") if len(query) > 70 else (404, "unknown-envelope")
        assert_problem(status, doc, *expected)
    status, doc = await north.call("GET", "/api/v1/log/inclusion", query="index=0")
    assert_problem(status, doc, 403, "forbidden")
    status, doc = await east.call("GET", "/api/v1/log/inclusion", query=f"envelope_id={theirs}")
    assert status == 200 and check_inclusion(hub, doc).recipient == "health-east"

    dpo = await hub.add_user("dee", "dpo")
    status, doc = await staff_call(
        hub, http, "GET", f"/api/v1/log/inclusion?envelope_id={theirs}", dpo
    )
    assert status == 200 and check_inclusion(hub, doc).envelope_id == theirs
    status, doc = await staff_call(hub, http, "GET", "/api/v1/log/inclusion?index=0", dpo)
    assert status == 200 and check_inclusion(hub, doc).kind == "key_registered"
    for query, code in (
        ("index=-1", 400),
        ("index=abc", 400),
        ("index=1e3", 400),
        ("index=99999999999999999999", 400),
        ("index=%EF%BC%91", 400),  # a full-width digit
        ("", 400),
        (f"index=0&envelope_id={theirs}", 400),
        ("index=5000", 404),
    ):
        status, doc = await staff_call(hub, http, "GET", f"/api/v1/log/inclusion?{query}", dpo)
        assert status == code, (query, doc)


async def test_heads_and_consistency(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    agent: Agent = await make_agency("police-north")
    status, first = await agent.call("GET", "/api/v1/log/head")
    assert status == 200
    old = SignedTreeHead.from_json(first)
    old.verify(hub.keys.identity.public)
    async with hub.app[ENGINE].connect() as conn:  # the head may not cover the newest entries
        before = await store.size(conn)
    await log_disclosures(hub, *["police-north"] * 9)
    for _ in range(50):  # the background signer signs soon after appends, unasked
        await asyncio.sleep(0.1)
        status, doc = await staff_call(hub, http, "GET", "/api/v1/log/head")
        if doc["size"] == before + 9:
            break
    new = SignedTreeHead.from_json(doc)
    assert new.size == before + 9 > old.size
    status, doc = await agent.call(
        "GET", "/api/v1/log/consistency", query=f"from={old.size}&to={new.size}"
    )
    assert status == 200, doc
    proof = [b64decode(p) for p in doc["proof"]]
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    for query in (
        f"from={new.size}&to={old.size}",
        f"from=0&to={new.size + 1}",
        "from=-1&to=2",
        "from=a&to=2",
        "to=2",
        "from=0&to=" + "9" * 40,
    ):
        status, doc = await agent.call("GET", "/api/v1/log/consistency", query=query)
        assert_problem(status, doc, 400, "malformed")
    coordinator = await hub.add_user("cora", "coordinator")
    status, doc = await staff_call(hub, http, "GET", "/api/v1/log/head", coordinator)
    assert status == 200 and doc["size"] == new.size


async def test_search_export_and_verify_for_the_dpo(hub, http, make_agency) -> None:  # type: ignore[no-untyped-def]
    await make_agency("police-north")
    await log_disclosures(hub, "police-north", "health-east", "police-north")
    dpo = await hub.add_user("dee", "dpo")

    async def get(path: str) -> tuple[int, Any]:
        return await staff_call(hub, http, "GET", path, dpo)

    status, doc = await get("/api/v1/log/entries?case=C-0&agency=police-north")
    assert status == 200, doc
    assert [e["entry"]["envelope_id"] for e in doc["entries"]] == [
        "01JENV120000000000000000000",
        "01JENV120000000000000000002",
    ][: len(doc["entries"])]
    status, doc = await get("/api/v1/log/entries?limit=1&offset=1&purpose=agenda")
    assert (
        status == 200
        and len(doc["entries"]) == 1
        and doc["entries"][0]["entry"]["recipient"] == "health-east"
    )
    status, doc = await get("/api/v1/log/entries?subject=S-2&since=2026-11-23&until=2026-11-23")
    assert status == 200 and [e["entry"]["subject_ids"] for e in doc["entries"]] == [["S-2"]]
    for query in (
        "limit=0",
        "limit=1001",
        "offset=-1",
        "since=2026-11-24&until=2026-11-23",
        "since=yesterday",
        "since=2026-11-23T10:00:00",
        "case=%27%3B%20DROP%20TABLE%20log_entries",
        "agency=" + "a" * 201,
        "overrides=maybe",
    ):
        status, doc = await get(f"/api/v1/log/entries?{query}")
        assert status == 400, (query, doc)

    async with http.get(
        hub.url + "/api/v1/log/export?format=csv&agency=police-north",
        headers={"Authorization": f"Bearer {dpo}"},
    ) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        lines = (await resp.text()).splitlines()
    head = SignedTreeHead.from_json(json.loads(lines[0].removeprefix("# signed tree head: ")))
    head.verify(hub.keys.identity.public)
    assert lines[1].startswith("index,kind") and len(lines) == 2 + 3 + 2  # keys, status, 2 sent
    async with http.get(
        hub.url + "/api/v1/log/export?format=jsonl&refusals=true",
        headers={"Authorization": f"Bearer {dpo}"},
    ) as resp:
        lines = (await resp.text()).splitlines()
    assert json.loads(lines[0])["filters"] == {"refusals": True} and len(lines) == 1
    status, doc = await get("/api/v1/log/export?format=xml")
    assert_problem(status, doc, 400, "malformed")

    status, doc = await staff_call(hub, http, "POST", "/api/v1/log/verify", dpo)
    # six entries, and the two exports' own access entries
    assert status == 200 and doc["ok"] is True and doc["size"] == 8, doc
    async with hub.app[ENGINE].begin() as conn:
        await conn.execute(
            update(log_entries).where(log_entries.c.idx == 4).values(entry=b'{"v":1}')
        )
    status, doc = await staff_call(hub, http, "POST", "/api/v1/log/verify", dpo)
    assert status == 200 and doc["ok"] is False and doc["index"] == 4, doc
