"""Group commit for notices: the notices that arrive together are sealed in one transaction.

A notice to all costs a standing read, an outbox insert, a log append and a durable commit
whatever the number of recipients. When several coordinators send at once, their
requests are read in the same turn of the event loop; :class:`NoticeSender` queues them
and one task seals the whole queue in one transaction (``send_notice_batch``), commits
once, wakes the recipients and answers each request with its own outcomes.

Nothing is answered before the commit: an acknowledged notice is durable, as before. A
notice that fails its own checks (an empty text, an unknown agency) gets its own error
and adds nothing. If the shared transaction fails, every notice in it is retried alone,
so each caller gets the outcome or error it would have had on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.disclosure import DisclosureContext, Outcome
from hub.disclosure.extracts import NoticeOrder, send_notice_batch
from hub.protocol.errors import HubError

__all__ = ["NoticeSender"]

MAX_BATCH = 32  # notices in one transaction (a notice to all is one row per agency)


@dataclass
class _Queued:
    order: NoticeOrder
    done: asyncio.Future[Sequence[Outcome]]


@dataclass
class NoticeSender:
    """Queues notices and commits each turn's queue together (see the module docstring).

    ``context`` gives the disclosure context at commit time; ``wake`` is called with the
    outcomes of every committed batch. ``batches`` counts the transactions committed
    (for tests and diagnostics).
    """

    engine: AsyncEngine
    context: Callable[[], DisclosureContext]
    wake: Callable[[Sequence[Outcome]], None]
    batches: int = 0
    _queue: list[_Queued] = field(default_factory=list)
    _current: list[_Queued] = field(default_factory=list)
    _runner: asyncio.Task[None] | None = None

    async def send(self, order: NoticeOrder) -> Sequence[Outcome]:
        """Seal, queue and log ``order``; its outcomes once they are committed."""
        order.check()  # a bad text is refused at once, without joining a batch
        done: asyncio.Future[Sequence[Outcome]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(order, done))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        # A caller that goes away cancels only its own future: the batch goes on.
        return await done

    async def close(self) -> None:
        """Finish what is queued (the server is stopping)."""
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # requests read in this turn join the first batch
            while self._queue:
                self._current, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(self._current)
        finally:
            self._runner = None
            for queued in [*self._current, *self._queue]:  # only if cancelled
                _settle(queued.done, error=HubError("the hub is stopping", code="unavailable"))
            self._current, self._queue = [], []

    async def _commit(self, batch: list[_Queued]) -> None:
        try:
            async with self.engine.begin() as conn:
                results = await send_notice_batch(conn, self.context(), [q.order for q in batch])
        except Exception as exc:
            if len(batch) > 1:  # find whose notice it was: each alone, in its own transaction
                for queued in batch:
                    await self._commit([queued])
            else:
                _settle(batch[0].done, error=exc)
            return
        self.batches += 1
        self.wake([o for r in results if not isinstance(r, HubError) for o in r])
        for queued, result in zip(batch, results, strict=True):
            if isinstance(result, HubError):
                _settle(queued.done, error=result)
            else:
                _settle(queued.done, result=result)


def _settle(
    done: asyncio.Future[Sequence[Outcome]],
    *,
    result: Sequence[Outcome] | None = None,
    error: BaseException | None = None,
) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result or [])
