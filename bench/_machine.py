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


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (every CPU, every process:
    ``/proc/stat``'s user, nice, system, irq, softirq and steal), or None off Linux."""
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            fields = f.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float | None:
    """User + system CPU seconds of every live ``postgres`` process on this machine (the
    server and its backends; a server elsewhere is not seen), or None off Linux."""
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    ticks = 0
    for pid in entries:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
                head, _, rest = f.read().rpartition(")")
        except OSError:
            continue  # ended meanwhile
        if head.partition("(")[2] == "postgres":
            fields = rest.split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
