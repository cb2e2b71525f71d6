"""``create_app(settings)``: the composition root. It builds the aiohttp application with
the API (``hub.service``) and the web UI (``hub.web``), the runtime the use-cases share,
and the background tasks (delivery, housekeeping, head signing)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web

from hub.app.runtime import Runtime
from hub.app.transports import registry_for
from hub.crypto.signature_checker import SignatureChecker
from hub.delivery.outbox import expire
from hub.delivery.push import Dispatcher, PushSettings
from hub.delivery.waiters import Waiters
from hub.http.appkeys import (
    CHECKER,
    DISPATCHER,
    ENGINE,
    KEYS,
    POLICY,
    RUNTIME,
    SETTINGS,
    TOKENS,
    WAITERS,
)
from hub.http.body_timeout import body_timeout_middleware
from hub.http.metrics import setup_metrics
from hub.http.rate_limit import rate_limit_middleware, setup_rate_limits
from hub.http.request_log import observe_requests, setup_request_log
from hub.http.security_headers import setup_security_headers
from hub.hub_keys import HubKeys, load_hub_keys
from hub.log.heads import HeadSigner
from hub.policy.bases import basis_ids
from hub.policy.policy import load_policy
from hub.service import (
    openapi,
    routes_agency,
    routes_cases,
    routes_delivery,
    routes_disclosure,
    routes_inbound,
    routes_log,
    routes_meetings,
    routes_policy,
    routes_schemas,
    routes_staff,
    routes_witness,
)
from hub.service.auth import prune_nonces
from hub.service.problems import answer_unparsable_requests_as_problems, problem_middleware
from hub.settings import Settings
from hub.storage.database import open_database
from hub.storage.schema import migrate
from hub.users import TokenCache
from hub.web import setup_web

__all__ = ["create_app"]

log = logging.getLogger("hub.service")


def create_app(settings: Settings, *, keys: HubKeys | None = None) -> web.Application:
    """The hub application for ``settings``: the database opens on startup, and the keys
    are read from the data directory then unless the caller has them open already."""
    answer_unparsable_requests_as_problems()  # an over-long request line: problem+json too
    app = web.Application(
        middlewares=[
            observe_requests,
            problem_middleware,
            rate_limit_middleware,
            body_timeout_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[WAITERS] = Waiters()
    if keys is not None:
        app[KEYS] = keys
    app.add_routes(routes_agency.routes)
    app.add_routes(routes_staff.routes)
    for module in (
        routes_policy,
        routes_cases,
        routes_disclosure,
        routes_delivery,
        routes_meetings,
        routes_inbound,
        routes_log,
        routes_witness,
        routes_schemas,
        openapi,
    ):
        app.add_routes(module.routes)
    setup_metrics(app)  # /metrics, if a scrape token is set
    setup_request_log(app)
    setup_security_headers(app)  # no-store, HSTS behind TLS, Server: marac-hub
    setup_rate_limits(app)  # sign-in, enrolment, SSO: per address (hub.http.rate_limit)
    setup_web(app)  # the web UI at /
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.append(_signature_checker)
    app.cleanup_ctx.append(_wal_checkpoints)
    app.cleanup_ctx.append(_mailbox_notifications)
    app.cleanup_ctx.append(_housekeeping)
    app.cleanup_ctx.append(_head_signer)
    app.cleanup_ctx.append(_push_dispatcher)
    app.cleanup_ctx.append(routes_disclosure.notice_sender)
    return app


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings: Settings = app[SETTINGS]
    if KEYS not in app:
        app[KEYS] = load_hub_keys(settings)
    database = open_database(settings.db_url, background_checkpoints=True)
    engine = database.engine
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            known = await basis_ids(conn)
        app[POLICY] = load_policy(settings.policy_file, basis_ids=known)  # bad file: no start
    except BaseException:
        await database.dispose()
        raise
    app[ENGINE] = engine
    app[TOKENS] = TokenCache(engine)
    app[RUNTIME] = rt = Runtime(
        database, app[KEYS], settings, app[POLICY], wake=app[WAITERS].notify
    )
    yield
    rt.close()
    await database.dispose()


async def _signature_checker(app: web.Application) -> AsyncIterator[None]:
    """Large batches of receipts are verified in a helper process, started on the first
    (``marac-hub serve`` starts it at once); ``signature_helper_batch = 0``: none."""
    from_batch = app[SETTINGS].signature_helper_batch
    if not from_batch:
        yield
        return
    app[CHECKER] = checker = SignatureChecker(min_batch=from_batch)
    yield
    checker.close()


async def _wal_checkpoints(app: web.Application) -> AsyncIterator[None]:
    """On a SQLite file, checkpoint the WAL on a worker thread (``hub.storage.checkpoints``)."""
    checkpointer = app[RUNTIME].database.checkpointer()
    if checkpointer is None:
        yield
        return
    task = asyncio.create_task(checkpointer.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _mailbox_notifications(app: web.Application) -> AsyncIterator[None]:
    """On a database several processes share (PostgreSQL), wake this process's
    long-polls for envelopes any process queued."""
    if not app[RUNTIME].database.shared:
        yield
        return
    task = asyncio.create_task(app[WAITERS].listen(app[ENGINE]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(app[SETTINGS].expiry_sweep_seconds)
            try:
                now = datetime.now(UTC)
                expired = await expire(app[ENGINE], now)
                if expired:
                    log.warning("%d envelope(s) expired undelivered; coordinators alerted", expired)
                await prune_nonces(app, now)
                chased = await routes_meetings.chase_in_housekeeping(app, now)
                if chased:
                    log.info("%d overdue action(s) chased", chased)
            except Exception:
                log.exception("housekeeping failed")

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _head_signer(app: web.Application) -> AsyncIterator[None]:
    """Sign a tree head soon after entries are appended (see ``hub.log.heads``)."""
    signer = HeadSigner(
        app[ENGINE], app[KEYS].identity, app[SETTINGS].hub_id, shared=app[RUNTIME].database.shared
    )
    task = asyncio.create_task(signer.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _push_dispatcher(app: web.Application) -> AsyncIterator[None]:
    """Run the push dispatcher (:mod:`hub.delivery.push`) while the application runs."""
    settings = app[SETTINGS]
    dispatcher = Dispatcher(
        app[RUNTIME].database,
        app[KEYS],
        settings.hub_id,
        registry_for(settings),
        PushSettings.from_settings(settings),
    )
    app[DISPATCHER] = dispatcher
    task = asyncio.create_task(dispatcher.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
