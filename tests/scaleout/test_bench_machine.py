"""The machine-wide CPU readings ``bench/delivery.py`` bounds several processes with."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import asyncpg
import pytest

from hub.testing import POSTGRES_ADMIN_URL

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _machine import busy_cpu_seconds, postgres_cpu_seconds

pytestmark = pytest.mark.skipif(
    not Path("/proc/stat").exists(), reason="needs Linux /proc (the readings' source)"
)


def _spin(seconds: float) -> float:
    """Keep this process busy for ``seconds``; the CPU seconds it took."""
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        pass
    return time.process_time() - cpu


def test_busy_cpu_counts_this_process_work() -> None:
    before = busy_cpu_seconds()
    spent = _spin(0.4)
    after = busy_cpu_seconds()
    assert before is not None and after is not None
    # the whole machine was busy at least as long as this process (less a clock tick)
    assert after - before >= spent - 0.05
    # and no more than every CPU for the whole time, plus a tick
    assert after - before <= 0.4 * 64 + 0.05


def test_busy_cpu_does_not_count_a_sleep() -> None:
    before = busy_cpu_seconds()
    time.sleep(0.3)
    after = busy_cpu_seconds()
    assert before is not None and after is not None
    assert after - before < 0.3 * 2  # far from every CPU busy: this process slept


async def test_postgres_cpu_counts_the_servers_work() -> None:
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        before = postgres_cpu_seconds()
        start = time.perf_counter()
        await conn.fetchval("SELECT count(*) FROM generate_series(1, 3000000) AS g(i)")
        took = time.perf_counter() - start
        after = postgres_cpu_seconds()
    finally:
        await conn.close()
    assert before is not None and after is not None
    # the backend counted 3 million rows on its own CPU: most of the query's time
    assert after - before >= min(0.1, took / 2)
    assert postgres_cpu_seconds() is not None
