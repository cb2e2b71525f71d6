"""The CPU readings ``bench/delivery.py`` bounds several processes with.

Each test asserts only on what it controls (its own process, a child it starts, its own
PostgreSQL backend, or ``/proc/stat`` readings it writes), so they pass on a busy machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from hub.testing import POSTGRES_ADMIN_URL

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _machine import (
    busy_cpu_seconds,
    busy_ticks,
    cpu_ticks,
    parse_proc_stat,
    postgres_cpu_seconds,
    proc_stat,
)

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


def _advance(line: str, **ticks: int) -> str:
    """``/proc/stat``'s ``cpu`` line with ``ticks`` added to the named fields."""
    name, *values = line.split()
    for field, added in ticks.items():
        index = STAT_FIELDS.index(field)
        values[index] = str(int(values[index]) + added)
    return " ".join([name, *values])


def _stat_file(tmp_path: Path, name: str, line: str) -> str:
    path = tmp_path / name
    path.write_text(f"{line}\ncpu0 1 2 3 4 5 6 7 8 9 10\n", encoding="utf-8")
    return str(path)


STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest")
SAMPLE = "cpu  46877 0 14287 79666 1405 0 399 323 0 0"  # a 2-CPU machine's, from a Linux VM


@on_linux
def test_busy_cpu_counts_this_process_work() -> None:
    # Only bounds that hold whatever else runs: the machine was busy at least as long as
    # this process (other processes only add), and at most every CPU for the whole window.
    started = time.perf_counter()
    before = busy_cpu_seconds()
    spent = _spin(0.4)
    after = busy_cpu_seconds()
    window = time.perf_counter() - started
    assert before is not None and after is not None
    assert after - before >= spent - 0.05  # less a clock tick or so of sampling
    assert after - before <= (window + 0.05) * CPUS


def test_busy_cpu_does_not_count_a_sleep(tmp_path: Path) -> None:
    # A sleep adds only idle (and iowait) ticks to /proc/stat: the busy reading must not move,
    # whatever the rest of the machine does. The readings are files this test writes, so
    # other processes on the machine cannot change the answer.
    tick = os.sysconf("SC_CLK_TCK")
    asleep = _advance(SAMPLE, idle=30 * CPUS, iowait=7)  # 0.3 s asleep on every CPU
    before = busy_cpu_seconds(_stat_file(tmp_path, "before", SAMPLE))
    after = busy_cpu_seconds(_stat_file(tmp_path, "after", asleep))
    assert before is not None and after is not None
    assert after == before
    # ...and work is counted, each busy field once; guest time is already in user and nice
    for field in ("user", "nice", "system", "irq", "softirq", "steal"):
        worked = _advance(SAMPLE, **{field: 40})
        assert busy_cpu_seconds(_stat_file(tmp_path, field, worked)) == before + 40 / tick, field
    guest = _advance(SAMPLE, user=40, guest=40)
    assert busy_cpu_seconds(_stat_file(tmp_path, "guest", guest)) == before + 40 / tick


@pytest.mark.parametrize("line", ["", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 3 x 5 6 7 8"])
def test_busy_ticks_refuses_what_is_not_the_cpu_line(line: str) -> None:
    with pytest.raises(ValueError, match="not the /proc/stat cpu line"):
        busy_ticks(line)


def test_busy_cpu_is_none_without_proc_stat(tmp_path: Path) -> None:
    assert busy_cpu_seconds(str(tmp_path / "absent")) is None


_CHILD = """
import sys, time
while time.process_time() < 0.3:
    pass
print(time.process_time(), flush=True)
sys.stdin.read()  # asleep until the test closes stdin
"""


@on_linux
def test_a_childs_cpu_ticks_count_its_work_and_not_its_sleep() -> None:
    # proc_stat and cpu_ticks (what bench/_hubproc.py sums over a hub's processes) read on a
    # child this test controls: it spins 0.3 CPU seconds, however long that takes on a busy
    # machine, then sleeps; its ticks count the spin and stay put while it sleeps.
    tick = os.sysconf("SC_CLK_TCK")
    argv = [sys.executable, "-c", _CHILD]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None and child.stdin is not None
        spun = float(child.stdout.readline())
        first = proc_stat(child.pid)
        time.sleep(0.3)
        second = proc_stat(child.pid)
        child.stdin.close()  # the child wakes and exits; leaving the block waits for it
    assert first is not None and second is not None
    assert first[0].startswith("python"), first[0]
    assert cpu_ticks(first[1]) / tick >= spun - 0.05
    assert cpu_ticks(second[1]) - cpu_ticks(first[1]) <= 2  # asleep: a tick or two at most


@on_linux
async def test_postgres_cpu_counts_the_servers_work() -> None:
    # Measured on this test's own backend (other tests' backends come and go, and a backend
    # that exits takes its ticks out of the machine-wide sum); the sum must include it.
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    tick = os.sysconf("SC_CLK_TCK")
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        before = proc_stat(backend)
        if before is None or before[0] != "postgres":
            pytest.skip(f"the PostgreSQL backend {backend} is not a process on this machine")
        await conn.fetchval("SELECT count(*) FROM generate_series(1, 3000000) AS g(i)")
        after = proc_stat(backend)
        total = postgres_cpu_seconds()
    finally:
        await conn.close()
    assert after is not None and total is not None
    # the backend counted 3 million rows on its own CPU, and the machine's sum counts it
    assert (cpu_ticks(after[1]) - cpu_ticks(before[1])) / tick >= 0.1
    assert total >= cpu_ticks(after[1]) / tick
