"""The log's checkpoints and their witnesses, for agencies and staff.

* ``log.checkpoint`` (the DPO and the admin: its cosignature lines name every witnessing
  agency, which a coordinator of another area is not shown) and ``agency_checkpoint`` (an
  agency's signed request): the newest checkpoint, a C2SP signed note, with every stored
  cosignature;
* ``agency_cosign``: an agency posts its cosignature of a checkpoint the hub signed
  (checked, then stored: ``hub.log.witnesses``);
* ``agency_witness_alarm``: an agency reports a checkpoint it refused to cosign (a fork
  or rollback): stored, and a ``log-fork`` alert opens for the coordinators;
* ``log.witnesses`` (the DPO and the admin): each agency witness, its newest cosignature,
  whether the newest witnessed checkpoint has the policy's quorum, and the alarms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from hub.agencies import Agency
from hub.agencies.tables import agencies
from hub.app.actor import Actor
from hub.app.catalogue import use_case
from hub.app.runtime import Runtime
from hub.crypto.checkpoint import checkpoint_origin
from hub.log import witnesses
from hub.log.heads import head_covering, newest_checkpoint
from hub.log.witnesses import Cosigned, StoredCosignature, WitnessAlarm
from hub.policy.witness import WitnessQuorum
from hub.protocol.errors import ProtocolError

__all__ = [
    "MAX_NOTE_CHARS",
    "Cosigned",
    "WitnessAlarm",
    "WitnessRow",
    "WitnessStatus",
    "agency_checkpoint",
    "agency_cosign",
    "agency_witness_alarm",
    "log_checkpoint",
    "witness_status",
]

LOG_READERS: Final = ("admin", "dpo")
MAX_NOTE_CHARS: Final = 16_384
STATUS_COSIGNATURES: Final = 1000  # the witnesses' status reads this many, newest first


async def _checkpoint(rt: Runtime) -> str:
    """The newest checkpoint note with its cosignatures (a head signed first if none)."""
    identity, log_id = rt.keys.identity, rt.settings.hub_id
    await head_covering(rt.engine, identity, log_id)
    newest = await newest_checkpoint(rt.engine, identity, log_id)
    assert newest is not None  # head_covering signed one
    _, head, note = newest
    async with rt.engine.connect() as conn:
        return await witnesses.witnessed_note(conn, note, head.size)


@use_case("log.checkpoint", *LOG_READERS)
async def log_checkpoint(rt: Runtime, actor: Actor) -> str:
    """The newest checkpoint (C2SP signed note) with every stored cosignature."""
    return await _checkpoint(rt)


async def agency_checkpoint(rt: Runtime) -> str:
    """The newest checkpoint, for an agency (its witness fetches it)."""
    return await _checkpoint(rt)


def _note(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NOTE_CHARS:
        raise ProtocolError(f"{name} must be a checkpoint note of at most {MAX_NOTE_CHARS} chars")
    return value


def _only(body: Mapping[str, Any], names: set[str]) -> None:
    extra = set(body) - names
    if extra:
        raise ProtocolError(f"unknown field {sorted(extra)[0]!r}"[:80], code="unknown-field")


async def agency_cosign(rt: Runtime, agency: Agency, body: Mapping[str, Any]) -> Cosigned:
    """Store the agency's cosignature of a checkpoint the hub signed (checked first)."""
    _only(body, {"checkpoint"})
    return await witnesses.store_cosignature(
        rt.engine,
        rt.settings.hub_id,
        agency.id,
        agency.identity_key,
        _note(body, "checkpoint"),
        now=rt.clock(),
    )


async def agency_witness_alarm(rt: Runtime, agency: Agency, body: Mapping[str, Any]) -> int:
    """Record the agency's report of a checkpoint it refused to cosign; the alarm's id."""
    _only(body, {"problem", "cosigned", "offered"})
    problem = body.get("problem")
    if not isinstance(problem, str):
        raise ProtocolError("problem must be a string", code="wrong-type")
    return await witnesses.record_alarm(
        rt.engine,
        rt.settings.hub_id,
        agency.id,
        problem,
        _note(body, "cosigned"),
        _note(body, "offered"),
        now=rt.clock(),
    )


@dataclass(frozen=True, slots=True)
class WitnessRow:
    """One agency as a witness: its newest valid cosignature, if any."""

    agency_id: str
    kind: str
    status: str
    last_size: int | None
    last_cosigned_at: datetime | None


@dataclass(frozen=True, slots=True)
class WitnessStatus:
    """The witnesses, the quorum rule, the newest checkpoint's cosigners, the alarms."""

    origin: str
    quorum: WitnessQuorum
    newest_size: int | None
    newest_cosigners: dict[str, str]  # agency id -> kind, of the newest checkpoint
    witnessed_size: int | None  # the largest checkpoint with a quorum
    rows: list[WitnessRow]
    alarms: list[WitnessAlarm]

    @property
    def newest_has_quorum(self) -> bool:
        """The newest checkpoint is cosigned by a quorum."""
        return self.quorum.met(self.newest_cosigners)

    def to_json(self) -> dict[str, Any]:
        """The API's answer."""
        return {
            "origin": self.origin,
            "quorum": self.quorum.to_json(),
            "newest_size": self.newest_size,
            "newest_cosigners": sorted(self.newest_cosigners),
            "newest_has_quorum": self.newest_has_quorum,
            "witnessed_size": self.witnessed_size,
            "witnesses": [
                {
                    "agency_id": r.agency_id,
                    "kind": r.kind,
                    "status": r.status,
                    "last_size": r.last_size,
                    "last_cosigned_at": r.last_cosigned_at.isoformat()
                    if r.last_cosigned_at
                    else None,
                }
                for r in self.rows
            ],
            "alarms": [
                {
                    "id": a.id,
                    "agency_id": a.agency_id,
                    "problem": a.problem,
                    "cosigned_size": a.cosigned_size,
                    "offered_size": a.offered_size,
                    "reported_at": a.reported_at.isoformat(),
                }
                for a in self.alarms
            ],
        }


def quorum_sizes(
    found: list[StoredCosignature], kinds: Mapping[str, str], keys: Mapping[str, bytes | None]
) -> dict[int, dict[str, str]]:
    """Checkpoint size -> the agencies (id -> kind) whose cosignature with their current
    key is stored for it."""
    out: dict[int, dict[str, str]] = {}
    for c in found:
        if c.agency_id in kinds and keys.get(c.agency_id) == c.public_key:
            out.setdefault(c.size, {})[c.agency_id] = kinds[c.agency_id]
    return out


@use_case("log.witnesses", *LOG_READERS)
async def witness_status(rt: Runtime, actor: Actor) -> WitnessStatus:
    """Each agency as a witness, the quorum of the newest checkpoint, the alarms."""
    origin = checkpoint_origin(rt.settings.hub_id)
    newest = await newest_checkpoint(rt.engine, rt.keys.identity, rt.settings.hub_id)
    async with rt.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(agencies.c.id, agencies.c.kind, agencies.c.status, agencies.c.identity_key)
                .where(agencies.c.identity_key.is_not(None))
                .order_by(agencies.c.id)
            )
        ).all()
        # The newest cosignatures are enough to show (log verify checks every one).
        recent = await witnesses.cosignatures(conn, newest=STATUS_COSIGNATURES)
        found = [c for c in recent if c.verifies(origin)]
        alarms = await witnesses.alarms(conn)
    kinds = {r.id: r.kind for r in rows}
    keys = {r.id: (bytes(r.identity_key) if r.identity_key else None) for r in rows}
    by_size = quorum_sizes(found, kinds, keys)
    quorum = rt.policy.witness
    last: dict[str, StoredCosignature] = {}
    for c in found:
        if c.agency_id not in last or c.size >= last[c.agency_id].size:
            last[c.agency_id] = c
    witnessed = [size for size, who in by_size.items() if quorum.met(who)]
    newest_size = newest[1].size if newest else None
    return WitnessStatus(
        origin=origin,
        quorum=quorum,
        newest_size=newest_size,
        newest_cosigners=by_size.get(newest_size, {}) if newest_size is not None else {},
        witnessed_size=max(witnessed, default=None),
        rows=[
            WitnessRow(
                r.id,
                r.kind,
                r.status,
                last[r.id].size if r.id in last else None,
                last[r.id].cosigned_at if r.id in last else None,
            )
            for r in rows
        ],
        alarms=alarms,
    )
