"""The checks of ``log verify`` about checkpoints and witnesses, run once the entries, hashes
and heads have verified (``hub.log.verify``), so a stored head's root is the log's root.

* every stored checkpoint is the hub's signed note of its head: origin, size and root as
  the head's, signed by the hub's identity key;
* the log agrees with every stored cosignature's checkpoint: the log is not shorter (a
  rollback) and its root at that size is the cosigned root (a rewrite); a cosignature
  that disagrees is verified first (with the key stored with it), so a forged row is
  reported as forged;
* the quorum of the policy (``hub.policy.witness``): every checkpoint signed more than
  ``grace_minutes`` ago is covered by (no larger than) a checkpoint cosigned, with their
  current keys, by ``quorum`` agencies of at least ``distinct_kinds`` kinds; every
  cosignature that could cover it must verify.

Cosignatures in the hub's database can be deleted by an insider: the quorum check then
fails, and the witnesses' own state catches a rollback (``agency-client witness``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies.tables import agencies
from hub.crypto.checkpoint import checkpoint_origin, hub_verifier, open_checkpoint
from hub.crypto.keys import IdentityPublicKey
from hub.log.store import root as root_at
from hub.log.tables import log_heads
from hub.log.verify import LogTampered
from hub.log.witnesses import StoredCosignature, cosignatures
from hub.policy.witness import WitnessQuorum
from hub.protocol.errors import HubError

__all__ = ["Witnessed", "verify_witnesses"]


@dataclass(frozen=True, slots=True)
class Witnessed:
    """What the witness checks found: the largest checkpoint with a quorum, and by whom."""

    size: int | None
    agencies: tuple[str, ...]
    checkpoints: int
    cosignatures: int


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def verify_witnesses(
    conn: AsyncConnection,
    key: IdentityPublicKey,
    log_id: str,
    size: int,
    quorum: WitnessQuorum,
    now: datetime,
) -> Witnessed:
    """Run the three checks on a log of ``size`` entries that has otherwise verified;
    ``LogTampered`` names the first fault."""
    origin = checkpoint_origin(log_id)
    heads = (await conn.execute(select(log_heads).order_by(log_heads.c.id))).all()
    checkpoints = _check_checkpoints(heads, key, origin)
    true_roots = {int(h.size): bytes(h.root) for h in heads}
    found = await cosignatures(conn)
    await _check_cosigned(conn, found, origin, size, true_roots)
    need = _due(heads, quorum, now)
    # Only the cosignatures that could cover the due checkpoint (or, none being due yet,
    # the newest, to say who has witnessed it) are verified here (those that disagree
    # with the log were above): a few, however long the log's history.
    newest = int(heads[-1].size) if heads else None
    report_from = need if need is not None else newest
    candidates = [c for c in found if report_from is not None and c.size >= report_from]
    for c in candidates:
        if not c.verifies(origin):
            raise LogTampered(
                f"the stored cosignature by {c.agency_id} of the checkpoint of size {c.size} "
                "does not verify"
            )
    rows = (
        await conn.execute(select(agencies.c.id, agencies.c.kind, agencies.c.identity_key))
    ).all()
    current = {r.id: (r.kind, bytes(r.identity_key) if r.identity_key else None) for r in rows}
    by_size: dict[int, dict[str, str]] = {}
    for c in candidates:
        kind, agency_key = current.get(c.agency_id, ("", None))
        if agency_key == c.public_key:
            by_size.setdefault(c.size, {})[c.agency_id] = kind
    witnessed = max((s for s, who in by_size.items() if quorum.met(who)), default=None)
    if need is not None and witnessed is None:
        _lacks_quorum(heads, quorum, need, found, current)
    who = tuple(sorted(by_size.get(witnessed, {}))) if witnessed is not None else ()
    return Witnessed(witnessed, who, checkpoints, len(found))


def _check_checkpoints(heads: Sequence[Any], key: IdentityPublicKey, origin: str) -> int:
    verifier = hub_verifier(origin, key)
    checked = 0
    for head in heads:
        note = head.checkpoint
        if note is None:
            continue  # signed before checkpoints were (migration 0016)
        head_id = int(head.id)
        try:
            opened = open_checkpoint(note, verifier)
        except HubError as exc:
            raise LogTampered(
                f"the checkpoint stored with head {head_id} does not verify ({exc.code})",
                head_id=head_id,
            ) from None
        if (opened.checkpoint.size, opened.checkpoint.root) != (int(head.size), bytes(head.root)):
            raise LogTampered(
                f"the checkpoint stored with head {head_id} is not that head's size and root",
                head_id=head_id,
            )
        checked += 1
    return checked


async def _check_cosigned(
    conn: AsyncConnection,
    found: list[StoredCosignature],
    origin: str,
    size: int,
    true_roots: dict[int, bytes],
) -> None:
    """The log agrees with every cosigned checkpoint (a cosignature that disagrees is
    verified first: a forged row is reported as such, not as a rewrite)."""
    for c in found:
        if c.size > size:
            problem = (
                f"the log holds {size} entries, fewer than the checkpoint of size {c.size} "
                f"that {c.agency_id} cosigned: the log was rolled back"
            )
        else:
            known = true_roots.get(c.size)
            if known is None:
                known = await root_at(conn, c.size)
                true_roots[c.size] = known
            if known == c.root:
                continue
            problem = (
                f"the log at size {c.size} is not the checkpoint {c.agency_id} cosigned: "
                "its history was rewritten"
            )
        if not c.verifies(origin):
            problem = (
                f"the stored cosignature by {c.agency_id} of the checkpoint of size {c.size} "
                "does not verify"
            )
        raise LogTampered(problem)


def _due(heads: Sequence[Any], quorum: WitnessQuorum, now: datetime) -> int | None:
    """The size a witnessed checkpoint must reach: the largest head signed more than the
    grace ago (None: nothing is due, or the quorum check is off).

    Every head counts, with or without its checkpoint note: a head signed before
    checkpoints were is covered once a later witnessed checkpoint is at least its size,
    and a checkpoint column an insider emptied does not take a head out of the check."""
    if quorum.quorum == 0:
        return None
    due = [int(h.size) for h in heads if _aware(h.timestamp) <= now - quorum.grace]
    return max(due, default=None)


def _lacks_quorum(
    heads: Sequence[Any],
    quorum: WitnessQuorum,
    need: int,
    found: list[StoredCosignature],
    current: dict[str, tuple[str, bytes | None]],
) -> None:
    """Raise: no checkpoint of ``need`` entries or more has a quorum."""
    groups: dict[int, dict[str, str]] = {}
    for c in found:
        kind, agency_key = current.get(c.agency_id, ("", None))
        if c.size < need and agency_key == c.public_key:
            groups.setdefault(c.size, {})[c.agency_id] = kind
    below = [size for size, who in groups.items() if quorum.met(who)]
    have = f"the largest is of size {max(below)}" if below else "none is"
    head_id = max((int(h.id) for h in heads if int(h.size) == need), default=None)
    raise LogTampered(
        f"the checkpoint of size {need}, signed more than {quorum.grace_minutes} minutes ago, "
        f"is not covered by a checkpoint cosigned by {quorum.describe()} ({have}): run "
        "'agency-client witness' at the agencies, or see docs/dpo.md on witnesses",
        head_id=head_id,
    )
