"""Free-text notices (use-case ``disclosure.notice``), committed together.

Who may receive a notice:

- a notice that cites a case goes only to agencies serving the case's area, and only from
  someone who works in that area (``case-outside-area``; a named agency that does not
  serve it: ``recipient-outside-area``);
- a coordinator's notice without a case goes to a named agency only if it serves one of
  the coordinator's areas (``agency-outside-area``); ``to: "all"`` means every active
  agency serving one of their areas;
- an admin's notice without a case goes to any agency, ``all`` to every active agency.

Group commit: a notice to all costs a standing read, an outbox insert, a log append and a
durable commit whatever the number of recipients. When several coordinators send at once,
their requests are read in the same turn of the event loop; :class:`NoticeSender` queues
them and one task checks and seals the whole queue in one transaction, commits once, wakes
the recipients and answers each request with its own outcomes.

Nothing is answered before the commit: an acknowledged notice is durable. A notice that
fails its own checks (an empty text, an unknown agency, an area rule) gets its own error
and adds nothing. If the shared transaction fails, every notice in it is retried alone, so
each caller gets the outcome or error it would have had on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency, active_agencies, get_agency
from hub.app.actor import Actor
from hub.app.catalogue import WRITERS, use_case
from hub.app.runtime import Runtime
from hub.cases.tables import agency_areas, cases
from hub.disclosure import Disclosed, Outcome, Refused, refuse_unless_disclosed
from hub.disclosure.extracts import NoticeOrder, NoticePlan, send_notice_batch
from hub.protocol.errors import HubError

__all__ = [
    "Disclosed",
    "NoticeOrder",
    "NoticeSender",
    "Outcome",
    "Refused",
    "notice_sender",
    "send_notice",
]

MAX_BATCH = 32  # notices in one transaction (a notice to all is one row per agency)


@use_case("disclosure.notice", *WRITERS)
async def send_notice(
    rt: Runtime, actor: Actor, to: str, text: str, case_ref: str | None = None
) -> Sequence[Outcome]:
    """Seal a free-text notice to one agency or ``all`` (see the module docstring for who
    may receive it); one outcome per recipient, after the commit. A refusal of a named
    agency is kept in the log and raised as its problem."""
    outcomes = await notice_sender(rt).send(actor, NoticeOrder(to, text, case_ref, actor.log_name))
    if to != "all":
        refuse_unless_disclosed(outcomes[0])
    return outcomes


_SENDERS: WeakKeyDictionary[Runtime, NoticeSender] = WeakKeyDictionary()


def notice_sender(rt: Runtime) -> NoticeSender:
    """The runtime's :class:`NoticeSender` (made on first use)."""
    sender = _SENDERS.get(rt)
    if sender is None:
        sender = _SENDERS[rt] = NoticeSender(rt)
    return sender


class _Scope:
    """What a batch's area rules read once: the active agencies (for ``all``), the areas
    each agency serves and the areas of the cases cited."""

    def __init__(
        self,
        everyone: list[Agency],
        served: dict[str, frozenset[str]],
        case_areas: dict[str, str],
    ) -> None:
        self.everyone = everyone
        self.served = served
        self.case_areas = case_areas

    @classmethod
    async def read(cls, conn: AsyncConnection, batch: Sequence[_Queued]) -> _Scope:
        orders = [q.order for q in batch]
        everyone = await active_agencies(conn) if any(o.to == "all" for o in orders) else []
        served: dict[str, set[str]] = {}
        if any(q.order.case_ref is not None or q.actor.role != "admin" for q in batch):
            for row in await conn.execute(select(agency_areas)):
                served.setdefault(row.agency_id, set()).add(row.area_id)
        refs = {o.case_ref for o in orders if o.case_ref is not None}
        case_areas: dict[str, str] = {}
        if refs:
            query = select(cases.c.ref, cases.c.area_id).where(cases.c.ref.in_(refs))
            case_areas = {row.ref: row.area_id for row in await conn.execute(query)}
        return cls(everyone, {k: frozenset(v) for k, v in served.items()}, case_areas)

    async def plan(self, conn: AsyncConnection, actor: Actor, order: NoticeOrder) -> NoticePlan:
        """The order's recipients under the area rules, or the refusal (raised)."""
        order.check()
        allowed: frozenset[str] | None = None  # the areas a recipient must serve (None: any)
        code = "agency-outside-area"
        if order.case_ref is not None:
            area = self.case_areas.get(order.case_ref)
            if area is None:
                raise HubError("no such case", code="not-found")
            if not actor.works_in(area):
                raise HubError(
                    "the case belongs to an area you do not work in", code="case-outside-area"
                )
            allowed, code = frozenset({area}), "recipient-outside-area"
        elif actor.role != "admin":
            allowed = actor.areas or frozenset()
        if order.to == "all":
            return order, [a for a in self.everyone if self._serves(a.id, allowed)]
        agency = await get_agency(conn, order.to)
        if agency is None:
            raise HubError("no such agency", code="not-found")
        if not self._serves(agency.id, allowed):
            raise HubError(
                f"agency {agency.id} does not serve "
                + ("the case's area" if order.case_ref else "any of your areas")
                + ": nothing was sent",
                code=code,
            )
        return order, [agency]

    def _serves(self, agency_id: str, allowed: frozenset[str] | None) -> bool:
        return allowed is None or bool(self.served.get(agency_id, frozenset()) & allowed)


@dataclass
class _Queued:
    actor: Actor
    order: NoticeOrder
    done: asyncio.Future[Sequence[Outcome]]


class NoticeSender:
    """Queues notices and commits each turn's queue together (see the module docstring).

    ``batches`` counts the transactions committed (for tests and diagnostics).
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.batches = 0
        self._queue: list[_Queued] = []
        self._current: list[_Queued] = []
        self._runner: asyncio.Task[None] | None = None

    async def send(self, actor: Actor, order: NoticeOrder) -> Sequence[Outcome]:
        """Check, seal, queue and log ``order`` as ``actor``; its outcomes once committed."""
        order.check()  # a bad text is refused at once, without joining a batch
        done: asyncio.Future[Sequence[Outcome]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(actor, order, done))
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
            async with self.rt.engine.begin() as conn:
                scope = await _Scope.read(conn, batch)
                plans: list[NoticePlan | HubError] = []
                for queued in batch:
                    try:
                        plans.append(await scope.plan(conn, queued.actor, queued.order))
                    except HubError as exc:
                        plans.append(exc)
                results = await send_notice_batch(conn, self.rt.context(), plans)
        except Exception as exc:
            if len(batch) > 1:  # find whose notice it was: each alone, in its own transaction
                for queued in batch:
                    await self._commit([queued])
            else:
                _settle(batch[0].done, error=exc)
            return
        self.batches += 1
        self.rt.wake(
            o.agency_id
            for r in results
            if not isinstance(r, HubError)
            for o in r
            if isinstance(o, Disclosed)
        )
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
