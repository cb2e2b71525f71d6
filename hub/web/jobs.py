"""'Verify now': the full log check runs as a background task with visible progress.

A DPO starts a run; its page shows entries checked so far (reloading itself where
JavaScript is on, with a button where it is not) and then the result. The last few runs
are kept in memory only.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from hub.app import log as log_app
from hub.app.actor import Actor
from hub.http.appkeys import RUNTIME

__all__ = ["JOBS", "VerifyJob", "setup", "start_verify"]

KEEP: Final = 20


@dataclass
class VerifyJob:
    """One run of the full verification."""

    id: str
    by: str
    started_at: datetime
    done: int = 0
    total: int = 0
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """Still checking."""
        return self.finished_at is None


JOBS = web.AppKey("web_verify_jobs", dict)


def setup(app: web.Application) -> None:
    """Keep the runs on the application; cancel any still running at shutdown."""
    app[JOBS] = {}
    app.cleanup_ctx.append(_cancel_on_exit)


async def _cancel_on_exit(app: web.Application) -> AsyncIterator[None]:
    yield
    for job in app[JOBS].values():
        if job.task is not None and not job.task.done():
            job.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job.task


async def _run(app: web.Application, job: VerifyJob, actor: Actor) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        verified = await log_app.verify_log_now(app[RUNTIME], actor, progress)
        job.result = verified.to_json()
        job.done = job.total = verified.size
    except log_app.LogTampered as exc:
        job.result = {"ok": False, "error": exc.message, "index": exc.index, "head": exc.head_id}
    except Exception as exc:  # shown to the DPO as a failed run
        job.error = type(exc).__name__
    finally:
        job.finished_at = datetime.now(UTC)


def start_verify(app: web.Application, actor: Actor) -> VerifyJob:
    """Start a full verification (use-case ``log.verify``) in the background as ``actor``."""
    jobs: dict[str, VerifyJob] = app[JOBS]
    for old in sorted(jobs.values(), key=lambda j: j.started_at)[: max(0, len(jobs) - KEEP + 1)]:
        if not old.running:
            del jobs[old.id]
    job = VerifyJob(secrets.token_urlsafe(12), actor.name, datetime.now(UTC))
    jobs[job.id] = job
    job.task = asyncio.create_task(_run(app, job, actor))
    return job
