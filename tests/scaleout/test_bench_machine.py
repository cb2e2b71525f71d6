"""The machine-wide CPU readings ``bench/delivery.py`` bounds several processes with."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from hub.testing import POSTGRES_ADMIN_URL

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _machine import busy_cpu_seconds, cpu_ticks, parse_proc_stat, postgres_cpu_seconds, proc_stat

on_linux = pytest.mark.skipif(
    not Path("/proc/stat").exists(), reason="needs Linux /proc (the readings' source)"
)
CPUS = os.cpu_count() or 1


def _spin(seconds: float) -> float:
    """Keep this process busy for ``seconds``; the CPU seconds it took."""
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        pass
    return time.process_time() - cpu


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("42 (postgres) S 1 42 42 0 -1 4194560 9 0 0 0 7 3 0 0 20 0 1 0", "postgres"),
        ("42 (a) b (c)) S 1 42 42 0 -1 4194560 9 0 0 0 7 3 0 0 20 0 1 0", "a) b (c)"),
        ("42 (sp ace) S 1 42 42 0 -1 4194560 9 0 0 0 7 3 0 0 20 0 1 0", "sp ace"),
    ],
)
def test_parse_proc_stat_takes_the_name_to_the_last_parenthesis(line: str, name: str) -> None:
    got, fields = parse_proc_stat(line)
    assert got == name
    assert fields[0] == "S" and fields[1] == "1"  # state, parent pid
    assert cpu_ticks(fields) == 10  # 7 user + 3 system


@pytest.mark.parametrize(
    "line", ["", "garbage", "42 postgres S 1", "(postgres) S 1", "x (postgres) S 1", "42 (open"]
)
def test_parse_proc_stat_refuses_what_is_not_a_stat_line(line: str) -> None:
    with pytest.raises(ValueError, match="not a /proc"):
        parse_proc_stat(line)


@on_linux
def test_proc_stat_of_this_process_and_of_none() -> None:
    stat = proc_stat(os.getpid())
    assert stat is not None
    assert int(stat[1][1]) == os.getppid()
    assert proc_stat(2**22 + 1) is None  # above the kernel's pid limit: no such process


@on_linux
def test_busy_cpu_counts_this_process_work() -> None:
    before = busy_cpu_seconds()
    spent = _spin(0.4)
    after = busy_cpu_seconds()
    assert before is not None and after is not None
    # the whole machine was busy at least as long as this process (less a clock tick)
    assert after - before >= spent - 0.05
    # and no more than every CPU for the whole time, plus a tick each
    assert after - before <= (0.4 + 0.05) * CPUS


@on_linux
def test_busy_cpu_does_not_count_a_sleep() -> None:
    before = busy_cpu_seconds()
    time.sleep(0.3)
    after = busy_cpu_seconds()
    assert before is not None and after is not None
    # idle time is not busy time: with this process asleep, far from every CPU was busy
    assert after - before < 0.3 * CPUS * 0.75


@on_linux
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
