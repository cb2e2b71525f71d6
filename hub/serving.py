"""Serving the hub: one process, or ``workers`` processes sharing one port (PostgreSQL).

``marac-hub serve`` calls :func:`serve`; the composition root is ``hub.server``. Each
process logs as the settings say (``log_format``, ``log_level``: ``hub.http.log_format``).
Several processes share a private ``PROMETHEUS_MULTIPROC_DIR``, made here and removed when
they stop, so that a scrape of ``/metrics``, whichever process answers, counts them all.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from aiohttp import web

from hub.http.appkeys import CHECKER
from hub.http.log_format import configure_logging
from hub.http.metrics import MULTIPROC_ENV
from hub.server import create_app
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.storage.schema import migrate

__all__ = ["serve"]


def serve(settings: Settings, workers: int = 1, *, ready: Callable[[], None] | None = None) -> int:
    """Serve until interrupted; the exit status (0: stopped cleanly). ``ready`` is called
    once one process listens, or once the port is found free for ``workers`` processes (an
    ``OSError`` before then: it could not listen)."""
    if workers == 1:
        _serve(settings, reuse_port=False, ready=ready)
        return 0
    return _serve_workers(settings, workers, ready)


async def _freeze_startup_objects(_app: web.Application) -> None:
    """Once started (modules, keys, engine, policy loaded), move every object there is to
    the collector's permanent generation: a full collection no longer walks them all on
    the event loop's thread (62-66 ms pauses under load before, in the latency benchmark)."""
    gc.collect()
    gc.freeze()


async def _start_signature_checker(app: web.Application) -> None:
    """Start the helper process now: the first large batch of receipts need not wait."""
    if CHECKER in app:
        app[CHECKER].start()


def _serve(
    settings: Settings, *, reuse_port: bool, ready: Callable[[], None] | None = None
) -> None:
    """One hub process (a worker shares the port with its siblings: ``SO_REUSEPORT``)."""
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    app.on_startup.append(_start_signature_checker)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None if ready is None else lambda _message: ready(),
        shutdown_timeout=5,
        reuse_port=reuse_port or None,
        # aiohttp closes a connection whose next request has not fully arrived this long
        # after it opened or was last answered: the limit on trickled headers
        keepalive_timeout=settings.header_read_seconds,
    )


def _serve_workers(
    settings: Settings, workers: int, ready: Callable[[], None] | None = None
) -> int:
    """Migrate once, start ``workers`` processes on the same port, stop them together.

    The kernel spreads incoming connections over the processes; they share the
    PostgreSQL database (see docs/deployment.md). If one exits, the others are stopped.
    """

    async def migrate_once() -> None:
        engine = create_engine(settings.db_url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    _refuse_a_taken_port(settings.host, settings.port)
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(migrate_once())
    if ready is not None:
        ready()
    with _metrics_directory():
        return _run_workers(settings, workers)


def _refuse_a_taken_port(host: str, port: int) -> None:
    """Raise ``OSError`` if something listens on ``host``:``port`` already. The workers
    bind with ``SO_REUSEPORT``, which another socket bound the same way (another hub's
    workers) would let them share, so the port is tried first without it."""
    for family, kind, proto, _name, address in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        with socket.socket(family, kind, proto) as probe:
            probe.bind(address)


@contextmanager
def _metrics_directory() -> Iterator[None]:
    """A private directory for the workers' metrics (prometheus_client's multiprocess
    mode), named in their environment while they run, then removed."""
    path = tempfile.mkdtemp(prefix="marac-hub-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = path  # the spawned workers inherit it
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def _run_workers(settings: Settings, workers: int) -> int:
    """Start the workers, wait for the first to end, stop the rest; the exit status."""
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_serve, args=(settings,), kwargs={"reuse_port": True})
        for _ in range(workers)
    ]
    for child in children:
        child.start()

    signalled: set[int] = set()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # Once each: a second SIGTERM would cut short a worker's graceful shutdown (its
        # cleanup cancelled, exit status 1) when the first to finish ends the wait below.
        for index, child in enumerate(children):
            if child.is_alive() and index not in signalled:
                signalled.add(index)
                child.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        multiprocessing.connection.wait([c.sentinel for c in children])  # the first to end
        stop(signal.SIGTERM, None)
        for child in children:
            child.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    codes = [child.exitcode or 0 for child in children]
    return 0 if all(code in (0, -signal.SIGTERM) for code in codes) else 1
