"""What every benchmark prints first: the machine it ran on."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    """The CPU's model name, or the best the platform module knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """``- machine: <platform>, <cpu>, <n> CPUs`` for the report's header."""
    return f"- machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs"


def busy_ticks(line: str) -> int:
    """Busy clock ticks of ``/proc/stat``'s ``cpu`` line: user, nice, system, irq, softirq and
    steal. Idle and iowait are not busy; guest and guest_nice are already in user and nice."""
    name, *values = line.split() or [""]
    if name != "cpu" or len(values) < 8 or not all(v.isdigit() for v in values):
        raise ValueError("not the /proc/stat cpu line")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
    return user + nice + system + irq + softirq + steal


def busy_cpu_seconds(stat: str = "/proc/stat") -> float | None:
    """CPU seconds the whole machine has spent busy since boot (every CPU, every process:
    :func:`busy_ticks` of ``/proc/stat``), or None off Linux."""
    try:
        with open(stat, encoding="utf-8") as f:
            line = f.readline()
    except OSError:
        return None
    return busy_ticks(line) / os.sysconf("SC_CLK_TCK")


def parse_proc_stat(text: str) -> tuple[str, list[str]]:
    """A ``/proc/<pid>/stat`` line: the command name, and the fields after it (``[1]`` the
    parent's pid, ``[11]`` and ``[12]`` user and system ticks). The name may itself hold
    spaces and parentheses: it runs from the first ``(`` to the last ``)``."""
    head, close, rest = text.rpartition(")")
    opened, paren, name = head.partition("(")
    if not close or not paren or not opened.strip().isdigit():
        raise ValueError("not a /proc/<pid>/stat line")
    return name, rest.split()


def proc_stat(pid: int | str) -> tuple[str, list[str]] | None:
    """:func:`parse_proc_stat` of a live process, or None if it is gone (or not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return parse_proc_stat(f.read())
    except (OSError, ValueError):
        return None


def cpu_ticks(fields: list[str]) -> int:
    """User + system clock ticks from :func:`parse_proc_stat`'s fields."""
    return int(fields[11]) + int(fields[12])


def pids() -> list[str]:
    """Every live process id (Linux ``/proc``); empty elsewhere."""
    try:
        return [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def postgres_cpu_seconds() -> float | None:
    """User + system CPU seconds of every live ``postgres`` process on this machine (the
    server and its backends; a server elsewhere is not seen), or None off Linux."""
    if not os.path.isdir("/proc"):
        return None
    ticks = 0
    for pid in pids():
        stat = proc_stat(pid)
        if stat is not None and stat[0] == "postgres":
            ticks += cpu_ticks(stat[1])
    return ticks / os.sysconf("SC_CLK_TCK")
