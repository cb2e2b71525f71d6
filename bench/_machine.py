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
