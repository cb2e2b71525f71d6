"""``log.evidence``: an evidence bundle for an investigator (``hub.crypto.evidence``).

The DPO (or the admin: whoever may read log entries, ``LOG_READERS``) names entries by
index or envelope id; the bundle holds each entry's logged bytes and its inclusion proof
against one checkpoint, the checkpoint with its witnesses' cosignatures, the hub's key and
its directory document, each witness's key and the log entry that registered it, and a
manifest, all signed by the hub. It verifies offline with the agency client
(``agency-client log verify-evidence``).

Making one is itself logged: an ``access`` entry (purpose ``evidence-bundle``) naming the
entries' case references and, as what was read, the entries (``entry:<index>``), so a
subject access report lists it among the views of the person's records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.app.actor import Actor
from hub.app.catalogue import use_case
from hub.app.log import LOG_READERS
from hub.app.mailbox import public_info
from hub.app.runtime import Runtime
from hub.crypto.checkpoint import checkpoint_origin
from hub.crypto.evidence import MAX_ENTRIES, ProvenEntry, Witness, make_bundle
from hub.crypto.keys import IdentityPublicKey, fingerprint
from hub.crypto.signed_note import parse_note
from hub.log import LogEntry, store
from hub.log.entries import MAX_ENTRY_BYTES, entry_bytes, parse_entry
from hub.log.heads import head_covering, newest_checkpoint
from hub.log.tables import log_cosignatures, log_entries, log_heads, log_index
from hub.log.witnesses import StoredCosignature, cosignatures
from hub.protocol.errors import HubError, ProtocolError

__all__ = ["EVIDENCE", "EvidenceBundle", "log_evidence", "parse_requested"]

EVIDENCE: Final = "evidence-bundle"  # the purpose of the access entry an export logs
_ENVELOPE: Final = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class EvidenceBundle:
    """A bundle's bytes and what it holds."""

    data: bytes
    entries: tuple[int, ...]
    checkpoint_size: int
    witnesses: int
    logged_as: int

    @property
    def filename(self) -> str:
        """A file name for it (the index of the entry that logged the export names it)."""
        return f"evidence-{self.logged_as}.json"


def parse_requested(values: object) -> list[str]:
    """The entries asked for: 1 to ``MAX_ENTRIES`` indices (digits) or envelope ids."""
    if not isinstance(values, list | tuple) or not values:
        raise ProtocolError("name at least one entry: an index or an envelope id")
    if len(values) > MAX_ENTRIES:
        raise ProtocolError(f"a bundle holds at most {MAX_ENTRIES} entries")
    out: list[str] = []
    for given in values:
        value = str(given) if isinstance(given, int) and not isinstance(given, bool) else given
        if not isinstance(value, str) or not _ENVELOPE.match(value):
            raise ProtocolError("an entry is an index or an envelope id (letters and digits)")
        if value.isdigit() and len(value) > 15:
            raise ProtocolError("an entry index is at most 15 digits")
        out.append(value)
    return out


async def _resolve(conn: AsyncConnection, requested: Sequence[str]) -> list[int]:
    size = await store.size(conn)
    found: set[int] = set()
    for value in requested:
        index = int(value) if value.isdigit() else await store.index_of_envelope(conn, value)
        if index is None:
            raise HubError(f"no logged envelope {value}", code="not-found")
        if index >= size:
            raise HubError(f"no entry {index}: the log holds {size}", code="not-found")
        found.add(index)
    return sorted(found)


async def _proven(rt: Runtime, conn: AsyncConnection, index: int, size: int) -> ProvenEntry:
    data = await store.entry(conn, index)
    if data is None:
        raise HubError(f"no entry {index}", code="not-found")
    return ProvenEntry(index, data, await rt.proofs.inclusion_proof(index, size))


def _export_entry(rt: Runtime, actor: Actor, proven: Sequence[ProvenEntry]) -> LogEntry:
    refs = sorted({ref for p in proven for ref in parse_entry(p.data).case_refs or ()})
    logged = LogEntry(
        kind="access",
        at=rt.clock(),
        actor=actor.log_name,
        door=actor.door,
        case_refs=tuple(refs) or None,
        purpose=EVIDENCE,
        fields=tuple(f"entry:{p.index}" for p in proven),
    )
    if len(entry_bytes(logged)) > MAX_ENTRY_BYTES:
        raise ProtocolError("these entries name too many cases for one bundle: ask for fewer")
    return logged


@dataclass(frozen=True, slots=True)
class _Chosen:
    size: int
    note: str  # the hub's signed checkpoint note, without cosignatures
    cosigned: list[StoredCosignature]


async def _checkpoint(rt: Runtime, need: int) -> _Chosen:
    """The checkpoint to prove against: of those covering ``need`` entries, the one the
    most witnesses cosigned (the newest of equals); if none is cosigned, the newest
    (signed now if none covers ``need``)."""
    origin = checkpoint_origin(rt.settings.hub_id)
    async with rt.engine.connect() as conn:
        counts = {
            int(size): int(n)
            for size, n in await conn.execute(
                select(log_cosignatures.c.size, func.count())
                .where(log_cosignatures.c.size >= need)
                .group_by(log_cosignatures.c.size)
            )
        }
        for size in sorted(counts, key=lambda s: (counts[s], s), reverse=True):
            note = await conn.scalar(
                select(log_heads.c.checkpoint)
                .where(log_heads.c.size == size, log_heads.c.checkpoint.is_not(None))
                .order_by(log_heads.c.id.desc())
                .limit(1)
            )
            if note is None:
                continue
            root = await store.root(conn, size)
            found = [
                c
                for c in await cosignatures(conn, size=size)
                if c.root == root and c.verifies(origin)
            ]
            if found:
                return _Chosen(size, str(note), found)
    await head_covering(rt.engine, rt.keys.identity, rt.settings.hub_id, need)
    newest = await newest_checkpoint(rt.engine, rt.keys.identity, rt.settings.hub_id)
    assert newest is not None  # head_covering signed one
    _, head, note = newest
    return _Chosen(head.size, note, [])


async def _registration(
    rt: Runtime, conn: AsyncConnection, agency_id: str, key: bytes, size: int
) -> ProvenEntry | None:
    """The ``key_registered`` entry that logged ``key`` as the agency's identity key, with
    its proof under the checkpoint of ``size`` (none if it is not under it)."""
    rows = await conn.execute(
        select(log_entries.c.idx, log_entries.c.entry)
        .join(log_index, log_index.c.idx == log_entries.c.idx)
        .where(
            log_index.c.agency == agency_id,
            log_index.c.kind == "key_registered",
            log_entries.c.idx < size,
        )
        .order_by(log_entries.c.idx)
    )
    wanted = fingerprint(key)
    for row in rows.all():
        logged = parse_entry(bytes(row.entry)).key
        if logged is not None and logged.role == "identity" and logged.fingerprint == wanted:
            proof = await rt.proofs.inclusion_proof(int(row.idx), size)
            return ProvenEntry(int(row.idx), bytes(row.entry), proof)
    return None


async def _witnesses(rt: Runtime, chosen: _Chosen) -> tuple[list[Witness], str]:
    """The witnesses whose cosignature and key registration the bundle can prove, and the
    checkpoint note with their cosignatures (and no others)."""
    out: list[Witness] = []
    async with rt.engine.connect() as conn:
        for c in chosen.cosigned:
            registered = await _registration(rt, conn, c.agency_id, c.public_key, chosen.size)
            if registered is not None:
                key = IdentityPublicKey.from_bytes(c.public_key)
                out.append(Witness(c.agency_id, c.key_name, key, registered))
    lines = [c.line for c in chosen.cosigned if c.agency_id in {w.agency for w in out}]
    note = parse_note(chosen.note).with_signatures(lines).encode().decode("utf-8")
    return out, note


@use_case("log.evidence", *LOG_READERS)
async def log_evidence(rt: Runtime, actor: Actor, requested: object) -> EvidenceBundle:
    """An evidence bundle of the named entries (indices or envelope ids), logged as an
    ``access`` entry (purpose evidence-bundle)."""
    asked = parse_requested(requested)
    async with rt.engine.connect() as conn:
        indices = await _resolve(conn, asked)
    chosen = await _checkpoint(rt, indices[-1] + 1)
    async with rt.engine.connect() as conn:
        proven = [await _proven(rt, conn, i, chosen.size) for i in indices]
    witnesses, note = await _witnesses(rt, chosen)
    logged = _export_entry(rt, actor, proven)
    async with rt.engine.begin() as conn:
        (logged_as,) = await store.append(conn, [logged])
    data = make_bundle(
        identity=rt.keys.identity,
        hub_id=rt.settings.hub_id,
        directory=public_info(rt),
        checkpoint=note,
        checkpoint_size=chosen.size,
        entries=proven,
        witnesses=witnesses,
        requested=asked,
        logged_as=logged_as,
        created=rt.clock(),
    )
    await head_covering(rt.engine, rt.keys.identity, rt.settings.hub_id, logged_as + 1)
    return EvidenceBundle(data, tuple(indices), chosen.size, len(witnesses), logged_as)
