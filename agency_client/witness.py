"""The agency as a witness of the hub's disclosure log (C2SP tlog-witness, pull style).

Each step: fetch the hub's newest checkpoint, verify the pinned hub key signed it, and
compare it with the last checkpoint this agency cosigned (kept sealed in the store):

* the same checkpoint: nothing to sign; if the hub no longer shows this agency's
  cosignature on it, the stored one is posted again (``reposted``);
* larger: fetch the consistency proof from the old size and verify it (RFC 6962); then
  cosign (C2SP tlog-cosignature v1, key name ``<agency id>.witness.<origin>``, the
  agency's identity key), store the new state, and post the cosignature;
* smaller, another root at the same size, or a proof that fails: **never cosign**. It
  is a fork or a rollback of the log: stored as an alarm, posted to the hub
  (``POST /api/v1/log/witness-alarms``: both notes) and returned as ``fork``.

The first checkpoint must extend the largest head this client's ``log check`` found
consistent, if it has seen one; else it is trusted on first use (its signature checked).
The origin is pinned then too: a checkpoint of another origin is refused.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from agency_client.hub_client import Clock, HubClient, is_transient, utc_now
from agency_client.store import Store, derive_store_key
from hub.crypto.checkpoint import (
    Checkpoint,
    Cosigner,
    SignedCheckpoint,
    hub_verifier,
    open_checkpoint,
    witness_name,
)
from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.crypto.merkle import verify_consistency
from hub.crypto.signed_note import Note, parse_note
from hub.protocol.canonical import b64decode, b64encode
from hub.protocol.errors import CryptoError, HubError, ProtocolError

__all__ = ["Witness", "WitnessOutcome", "WitnessState", "describe", "load_state", "save_state"]

STATE_CONFIG: Final = "witness_state"
_AAD: Final = b"marac-hub witness state v1"
_NONCE: Final = 12
COSIGNED: Final = "cosigned"
UNCHANGED: Final = "unchanged"
REPOSTED: Final = "reposted"
FORK: Final = "fork"
UNREACHABLE: Final = "unreachable"


@dataclass(frozen=True, slots=True)
class WitnessState:
    """The last checkpoint this agency cosigned: its note (with the cosignature)."""

    origin: str
    size: int
    root: bytes
    note: str
    cosigned_at: int


@dataclass(frozen=True, slots=True)
class WitnessOutcome:
    """What one witness step did."""

    kind: str  # cosigned, unchanged, reposted, fork, unreachable
    size: int | None
    message: str

    @property
    def alarm(self) -> bool:
        """True if the hub offered a checkpoint this witness must not cosign."""
        return self.kind == FORK


def _aead(identity: IdentityKeyPair) -> ChaCha20Poly1305:
    return ChaCha20Poly1305(derive_store_key(identity))


def load_state(store: Store, identity: IdentityKeyPair) -> WitnessState | None:
    """The sealed witness state, or None before the first cosignature."""
    sealed = store.config(STATE_CONFIG)
    if sealed is None:
        return None
    try:
        raw = b64decode(sealed)
        plain = _aead(identity).decrypt(raw[:_NONCE], raw[_NONCE:], _AAD)
        doc = json.loads(plain)
        return WitnessState(
            doc["origin"], int(doc["size"]), b64decode(doc["root"]), doc["note"], int(doc["at"])
        )
    except (InvalidTag, ProtocolError, ValueError, KeyError, TypeError):
        raise HubError(
            f"the witness state in {store.path} is damaged", code="store-damaged"
        ) from None


def save_state(store: Store, identity: IdentityKeyPair, state: WitnessState) -> None:
    """Seal and store the witness state (before the cosignature leaves this machine)."""
    doc = {
        "origin": state.origin,
        "size": state.size,
        "root": b64encode(state.root),
        "note": state.note,
        "at": state.cosigned_at,
    }
    nonce = os.urandom(_NONCE)
    sealed = nonce + _aead(identity).encrypt(nonce, json.dumps(doc).encode(), _AAD)
    store.set_config(STATE_CONFIG, b64encode(sealed))


class Witness:
    """One agency's witness of one hub's log."""

    def __init__(
        self,
        client: HubClient,
        store: Store,
        identity: IdentityKeyPair,
        hub_key: IdentityPublicKey,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.client = client
        self.store = store
        self.identity = identity
        self.hub_key = hub_key
        self.clock = clock

    async def step(self) -> WitnessOutcome:
        """Fetch, check, and cosign the newest checkpoint, or refuse and report."""
        try:
            text = await self.client.log_checkpoint()
        except HubError as exc:
            if is_transient(exc):
                return WitnessOutcome(UNREACHABLE, None, exc.diagnostics())
            raise
        state = await asyncio.to_thread(load_state, self.store, self.identity)
        try:
            offered = self._open(text, state)
        except HubError as exc:  # not the pinned key's, or not a checkpoint: never cosigned
            await asyncio.to_thread(self.store.add_alarm, "witness", exc.message, self.clock())
            raise
        if state is None:
            refused = await self._against_heads_seen(offered)
            return refused or await self._cosign(offered, None)
        return await self._judge(offered, state, text)

    async def _against_heads_seen(self, offered: SignedCheckpoint) -> WitnessOutcome | None:
        """Before the first cosignature: the checkpoint must extend the largest head this
        client's log check found consistent (``agency-client log check``), if any."""
        heads = await asyncio.to_thread(self.store.log_heads)
        seen = max(
            (h.head for h in heads if h.status == "consistent"),
            key=lambda h: h.size,
            default=None,
        )
        new = offered.checkpoint
        if seen is None or (seen.size, seen.root) == (new.size, new.root):
            return None
        if new.size > seen.size:
            extends = await self._extends(seen.size, seen.root, new)
            if isinstance(extends, WitnessOutcome):
                return extends
            if extends:
                return None
        reason = (
            f"the hub's checkpoint of size {new.size} does not extend its head of size "
            f"{seen.size} this agency's log check saw: its log was forked or rewritten"
        )
        await asyncio.to_thread(self.store.add_alarm, "witness", reason, self.clock())
        return WitnessOutcome(FORK, None, reason)

    async def _judge(
        self, offered: SignedCheckpoint, state: WitnessState, text: str
    ) -> WitnessOutcome:
        """Cosign ``offered`` if it extends ``state``; else refuse and report."""
        new = offered.checkpoint
        if new.size < state.size:
            return await self._fork(
                "smaller",
                state,
                text,
                f"the hub's checkpoint of size {new.size} is smaller than the one of size "
                f"{state.size} this agency cosigned: the log was rolled back",
            )
        if new.size == state.size:
            if new.root != state.root:
                return await self._fork(
                    "same-size-other-root",
                    state,
                    text,
                    f"the hub signed two checkpoints of size {new.size} with different "
                    "roots: its log was forked or rewritten",
                )
            return await self._repost_if_lost(offered, state)
        extends = await self._extends(state.size, state.root, new)
        if isinstance(extends, WitnessOutcome):
            return extends
        if not extends:
            return await self._fork(
                "inconsistent",
                state,
                text,
                f"the hub's checkpoint of size {new.size} is not consistent with the one of "
                f"size {state.size} this agency cosigned: its log was forked or rewritten",
            )
        return await self._cosign(offered, state)

    async def _extends(self, size: int, root: bytes, new: Checkpoint) -> bool | WitnessOutcome:
        """Whether ``new`` extends the tree of ``size`` entries and ``root``, by the hub's
        consistency proof (a refused or malformed one: it does not); the UNREACHABLE
        outcome if the hub could not be asked."""
        try:
            proof = await self.client.log_consistency(size, new.size)
        except HubError as exc:
            if is_transient(exc):
                return WitnessOutcome(UNREACHABLE, None, exc.diagnostics())
            return False
        return verify_consistency(size, new.size, root, new.root, list(proof))

    def _open(self, text: str, state: WitnessState | None) -> SignedCheckpoint:
        """The checkpoint, signed by the pinned hub key under the pinned origin."""
        try:
            note = parse_note(text)
            origin = Checkpoint.parse(note.text).origin
        except ProtocolError as exc:
            raise ProtocolError(f"the hub's checkpoint is malformed: {exc.message}") from None
        if state is not None and origin != state.origin:
            raise CryptoError(
                f"the hub's checkpoint names the log {origin!r}, not {state.origin!r}",
                code="bad-checkpoint",
            )
        try:
            return open_checkpoint(text, hub_verifier(origin, self.hub_key))
        except CryptoError:
            raise CryptoError(
                "the hub's checkpoint is not signed by the pinned hub key", code="bad-checkpoint"
            ) from None

    def _cosigner(self, origin: str) -> Cosigner:
        return Cosigner(witness_name(self.client.agency_id, origin), self.identity)

    async def _cosign(self, offered: SignedCheckpoint, old: WitnessState | None) -> WitnessOutcome:
        checkpoint = offered.checkpoint
        timestamp = max(int(self.clock().timestamp()), (old.cosigned_at if old else 0) + 1)
        line = self._cosigner(checkpoint.origin).cosign(checkpoint, timestamp)
        hub_signed = [s for s in offered.note.signatures if s.name == checkpoint.origin]
        witnessed = Note(offered.note.text, (*hub_signed, line))
        note = witnessed.encode().decode("utf-8")
        state = WitnessState(checkpoint.origin, checkpoint.size, checkpoint.root, note, timestamp)
        await asyncio.to_thread(save_state, self.store, self.identity, state)
        await self.client.post_cosignature(note)
        return WitnessOutcome(
            COSIGNED, checkpoint.size, f"cosigned the hub's checkpoint of size {checkpoint.size}"
        )

    async def _repost_if_lost(
        self, offered: SignedCheckpoint, state: WitnessState
    ) -> WitnessOutcome:
        mine = self._cosigner(state.origin).verifier
        if mine.name in offered.cosignatures([mine]):
            return WitnessOutcome(
                UNCHANGED, state.size, f"already cosigned the checkpoint of size {state.size}"
            )
        await self.client.post_cosignature(state.note)
        return WitnessOutcome(
            REPOSTED,
            state.size,
            f"the hub had lost this agency's cosignature of size {state.size}: posted again",
        )

    async def _fork(
        self, problem: str, state: WitnessState, offered: str, reason: str
    ) -> WitnessOutcome:
        new = await asyncio.to_thread(self.store.add_alarm, "witness", reason, self.clock())
        try:  # the hub keeps one alarm per problem and cosigned checkpoint
            await self.client.post_witness_alarm(problem, state.note, offered)
        except HubError as exc:
            reason += f" (reporting it to the hub failed: {exc.code})"
        if not new:
            reason += " (reported before)"
        return WitnessOutcome(FORK, None, reason)


def describe(state: WitnessState | None, now: datetime) -> str:
    """One line about the stored state."""
    if state is None:
        return "this agency has not cosigned a checkpoint yet"
    age = int(now.timestamp()) - state.cosigned_at
    return f"last cosigned: size {state.size} of {state.origin}, {age} s ago"
