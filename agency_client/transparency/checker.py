"""``LogChecker``: the agency's audit of the hub's disclosure log.

* **Envelopes.** For each stored envelope not yet checked, fetch its log entry and
  inclusion proof; the head must be signed by the pinned hub key, the entry must be the
  ``disclosure`` of exactly this envelope (id, recipient, digest) and the proof must
  place ``leaf_hash(entry)`` at ``index`` under the head's root. The outcome is stored
  per envelope: ``verified`` or ``failed``; a hub that cannot be reached leaves it
  pending, to be retried.
* **Heads.** Every signed head seen is stored. The first is trusted on first use; each
  later one must be consistent (RFC 9162 consistency proof) with the largest head
  already found consistent. Two heads of one size with different roots, or a failed
  proof, means the hub forked or rewrote its log.
* **Keys.** Every key entry the hub logged about this agency must name a key this agency
  made, and must be included under a signed head.

Anything wrong is an *alarm*: stored (the same alarm again only counts up), logged with
ids and sizes only, and reported by ``agency-client log check``; never silently passed.
Hostile answers (malformed heads, wrong-length proofs, entries about other envelopes)
are alarms, not crashes. Connection failures and 5xx answers are not alarms: what they
interrupted stays pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from agency_client.hub_client import Clock, HubClient, is_transient, utc_now
from agency_client.store import LogHead, MessageInfo, Store
from agency_client.transparency.entries import (
    KnownKeys,
    check_disclosure,
    check_key_entry,
    decode_entry,
    proves_inclusion,
)
from agency_client.transparency.wire import Inclusion
from hub.crypto.keys import IdentityPublicKey
from hub.crypto.merkle import verify_consistency
from hub.crypto.tree_head import SignedTreeHead
from hub.protocol.errors import HubError

__all__ = ["CONSISTENT", "FAILED", "PENDING", "CheckReport", "LogChecker"]

log = logging.getLogger(__name__)

PENDING: Final = "pending"
CONSISTENT: Final = "consistent"
FAILED: Final = "failed"
VERIFIED: Final = "verified"
CONCURRENCY: Final = 8


@dataclass(slots=True)
class CheckReport:
    """What one check did: counts, new alarms, and why something stayed pending."""

    verified: int = 0
    failed: int = 0
    pending: int = 0
    key_entries: int = 0
    alarms: list[str] = field(default_factory=list)
    unreachable: str | None = None

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"log check: {self.verified} verified, {self.failed} failed, "
            f"{self.pending} pending, {len(self.alarms)} new alarms"
        )


class _Alarm(Exception):
    """Internal: a check failed for the reason given (becomes an alarm)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class LogChecker:
    """Checks one agency's view of the hub's log and records it in the store."""

    def __init__(
        self,
        client: HubClient,
        store: Store,
        hub_key: IdentityPublicKey,
        *,
        clock: Clock = utc_now,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.client = client
        self.store = store
        self.hub_key = hub_key
        self.clock = clock
        self._limit = asyncio.Semaphore(max(1, concurrency))

    # -- envelopes ------------------------------------------------------------------

    async def check_envelopes(
        self, limit: int = -1, report: CheckReport | None = None
    ) -> CheckReport:
        """Check stored envelopes not yet checked (up to ``limit``), then the heads seen."""
        report = report or CheckReport()
        infos = await asyncio.to_thread(self.store.unchecked_in_log, limit)
        answers = await asyncio.gather(*(self._fetch(i, report) for i in infos))
        fetched = [(i, a) for i, a in zip(infos, answers, strict=True) if a is not None]
        # Heads in size order: concurrent answers may arrive out of order.
        for head in sorted({a.head for _, a in fetched}, key=lambda h: h.size):
            await self._see_head(head, report)
        for info, answer in fetched:
            await self._judge(info, answer, report)
        report.pending += len(infos) - len(fetched)
        await self.settle_heads(report)
        return report

    async def _fetch(self, info: MessageInfo, report: CheckReport) -> Inclusion | None:
        async with self._limit:
            try:
                return await self.client.log_inclusion(info.envelope_id)
            except HubError as exc:
                if is_transient(exc):
                    report.unreachable = exc.diagnostics()
                    return None
                reason = _refusal(f"envelope {info.envelope_id}", exc)
                await self._fail(info, "inclusion", reason, report)
                return None

    async def _judge(self, info: MessageInfo, answer: Inclusion, report: CheckReport) -> None:
        envelope_id = info.envelope_id
        try:
            _verify_signature(answer.head, self.hub_key, f"for envelope {envelope_id}")
        except _Alarm as alarm:
            await self._fail(info, alarm.kind, alarm.reason, report)
            return
        reason = _disclosure_problem(info, answer, self.client.agency_id)
        if reason is not None:
            await self._fail(info, "inclusion", reason, report)
            return
        now = self.clock()
        await asyncio.to_thread(
            self.store.record_log_check, envelope_id, VERIFIED, now, index=answer.index
        )
        report.verified += 1

    async def _fail(self, info: MessageInfo, kind: str, reason: str, report: CheckReport) -> None:
        now = self.clock()
        await asyncio.to_thread(
            self.store.record_log_check, info.envelope_id, FAILED, now, reason=reason
        )
        report.failed += 1
        await self._alarm(kind, reason, report)

    # -- heads ----------------------------------------------------------------------

    async def check_newest(self, report: CheckReport | None = None) -> CheckReport:
        """Fetch the newest head and check it (and any pending head) for consistency."""
        report = report or CheckReport()
        try:
            head = await self.client.log_head()
        except HubError as exc:
            await self._answer_failed("head", "the newest head", exc, report)
        else:
            await self._see_head(head, report)
        await self.settle_heads(report)
        return report

    async def _see_head(self, head: SignedTreeHead, report: CheckReport) -> bool:
        """Record a head if its signature verifies; False (and an alarm) if it does not."""
        try:
            _verify_signature(head, self.hub_key, f"of size {head.size}")
        except _Alarm as alarm:
            await self._alarm(alarm.kind, alarm.reason, report)
            return False
        known = await asyncio.to_thread(self.store.log_heads)
        if any(h.head.size == head.size and h.head.root == head.root for h in known):
            return True
        status = PENDING if any(h.status == CONSISTENT for h in known) else CONSISTENT
        if any(h.head.size == head.size for h in known):
            status = FAILED
        await asyncio.to_thread(self.store.add_log_head, head, status, self.clock())
        if status == FAILED:
            await self._alarm(
                "fork",
                f"the hub signed two heads of size {head.size} with different roots: "
                "its log was forked or rewritten",
                report,
            )
        return True

    async def settle_heads(self, report: CheckReport | None = None) -> CheckReport:
        """Check every pending head against the largest consistent one, smallest first."""
        report = report or CheckReport()
        heads = await asyncio.to_thread(self.store.log_heads)
        for pending in [h for h in heads if h.status == PENDING]:
            anchor = _anchor(await asyncio.to_thread(self.store.log_heads))
            if anchor is None:  # cannot happen: the first head seen is consistent
                break
            small, large = sorted((anchor.head.size, pending.head.size))
            reason = (
                f"the hub's head of size {small} is not a prefix of its head of size "
                f"{large}: its log was forked or rewritten"
            )
            try:
                ok = await self._consistent(anchor.head, pending.head)
            except HubError as exc:
                if is_transient(exc):
                    report.unreachable = exc.diagnostics()
                    break
                ok, reason = False, _refusal(f"the log from size {small} to {large}", exc)
            await asyncio.to_thread(
                self.store.set_log_head_status, pending.head, CONSISTENT if ok else FAILED
            )
            if not ok:
                await self._alarm("fork", reason, report)
        return report

    async def _consistent(self, a: SignedTreeHead, b: SignedTreeHead) -> bool:
        old, new = (a, b) if a.size <= b.size else (b, a)
        proof = await self.client.log_consistency(old.size, new.size)
        return verify_consistency(old.size, new.size, old.root, new.root, list(proof))

    # -- keys -----------------------------------------------------------------------

    async def check_keys(self, known: KnownKeys, report: CheckReport | None = None) -> CheckReport:
        """Every key entry about this agency names a key it made, under a signed head."""
        report = report or CheckReport()
        try:
            answer = await self.client.log_keys()
        except HubError as exc:
            await self._answer_failed("keys", "this agency's key entries", exc, report)
            return report
        if not await self._see_head(answer.head, report):
            return report
        for item in answer.entries:
            report.key_entries += 1
            try:
                reason = check_key_entry(
                    decode_entry(item.entry), agency_id=self.client.agency_id, known=known
                )
            except HubError as exc:
                reason = f"the key entry at index {item.index}: {exc.message}"
            if reason:
                await self._alarm("keys", reason, report)
            if not proves_inclusion(item.index, item.entry, item.proof, answer.head):
                await self._alarm(
                    "keys",
                    f"the inclusion proof of the key entry at index {item.index} does not "
                    f"verify against the head of size {answer.head.size}",
                    report,
                )
        await self.settle_heads(report)
        return report

    # -- alarms ---------------------------------------------------------------------

    async def _answer_failed(
        self, kind: str, what: str, exc: HubError, report: CheckReport
    ) -> None:
        if is_transient(exc):
            report.unreachable = exc.diagnostics()
        else:
            await self._alarm(kind, _refusal(what, exc), report)

    async def _alarm(self, kind: str, reason: str, report: CheckReport) -> None:
        new = await asyncio.to_thread(self.store.add_alarm, kind, reason, self.clock())
        if new:
            log.error("hub log alarm (%s): %s", kind, reason)
        report.alarms.append(reason)


def _verify_signature(head: SignedTreeHead, key: IdentityPublicKey, which: str) -> None:
    try:
        head.verify(key)
    except HubError:
        raise _Alarm(
            "head", f"the hub's head {which} is not signed by the pinned hub key"
        ) from None


def _disclosure_problem(info: MessageInfo, answer: Inclusion, agency_id: str) -> str | None:
    """Why ``answer`` does not prove the disclosure of ``info``'s envelope (None if it does)."""
    envelope_id = info.envelope_id
    try:
        entry = decode_entry(answer.entry)
    except HubError as exc:
        return f"the log entry for envelope {envelope_id}: {exc.message}"
    reason = check_disclosure(
        entry, envelope_id=envelope_id, agency_id=agency_id, envelope_sha256=info.envelope_sha256
    )
    if reason is None and not proves_inclusion(
        answer.index, answer.entry, answer.proof, answer.head
    ):
        reason = (
            f"the inclusion proof for envelope {envelope_id} at index {answer.index} "
            f"does not verify against the head of size {answer.head.size}"
        )
    return reason


def _anchor(heads: Sequence[LogHead]) -> LogHead | None:
    """The largest head found consistent: what every new head must extend."""
    return max(
        (h for h in heads if h.status == CONSISTENT), key=lambda h: h.head.size, default=None
    )


def _refusal(what: str, exc: HubError) -> str:
    """An alarm reason for an answer that is not what the contract promises."""
    if exc.code == "unknown-envelope":
        return f"the hub says {what} is not in its log"
    return f"the hub's answer about {what} is unusable ({exc.code})"
