"""``make bench``: run every benchmark and write ``bench/RESULTS.md``.

Each benchmark runs as its own process, from the repository root, with the arguments
below; its Markdown output goes into the report as it is, under its command. Everything
runs on 127.0.0.1 (PostgreSQL on 127.0.0.1:5432 if one answers) and downloads nothing.
About 9 minutes on 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import machine_line

ROOT = Path(__file__).resolve().parent.parent
BENCHES = (
    ("crypto", ["bench/crypto.py", "--quick"]),
    # 4,000 messages a throughput row and 15 s at the steady rate (3,000 messages): runs
    # long enough that one slow second on a shared machine does not make the row.
    ("delivery", ["bench/delivery.py", "--messages", "200", "--latency-seconds", "15"]),
    ("agenda", ["bench/agenda.py", "--engines", "sqlite", "postgresql"]),
    ("log", ["bench/log.py"]),
    ("cli_startup", ["bench/cli_startup.py", "--rounds", "10"]),
)
TARGETS = """\
| target (issue 7; 2 cores, loopback, SQLite unless said) | where |
| --- | --- |
| end to end ≥ 2,000 messages/s | delivery: Throughput, SQLite row, messages/s |
| ≥ 5x the MESH sandbox on the same workload | delivery: Throughput, hub / MESH |
| p99 send → sink ≤ 20 ms at 200 messages/s | delivery: Latency, p99 ms to sink |
| agenda of 30 cases x 25 agencies acknowledged in ≤ 1 s | agenda: to last receipt s |
| end to end ≥ 35% of the crypto ceiling | delivery: Throughput, of ceiling |
| two hub processes on PostgreSQL ≥ 1.5x one | delivery: the 2 processes / 1 process line |
| hub RSS ≤ 200 MB with 10^5 envelopes queued | delivery: Hub memory |
| `--help` and simple commands start in < 0.5 s (issue 25) | cli_startup: after median s |
"""


def main() -> int:
    started = time.perf_counter()
    parts, failed = [], []
    for name, argv in BENCHES:
        command = [sys.executable, *argv]
        shown = " ".join([".venv/bin/python", *argv])
        print(f"running {shown}", flush=True)
        t0 = time.perf_counter()
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
        )
        took = time.perf_counter() - t0
        if done.returncode != 0:
            failed.append(name)
        body = done.stdout.strip() or "(no output)"
        if done.returncode != 0:
            body += f"\n\n_exit status {done.returncode}_\n\n```\n{done.stderr[-3000:]}\n```"
        parts.append(f"## `{shown}` ({took:.0f} s)\n\n{_demote(body)}\n")
    total = time.perf_counter() - started
    results = ROOT / "bench" / "RESULTS.md"
    report = (
        "# Benchmark results\n\n"
        f"{machine_line()}\n"
        f"- run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make bench` "
        f"(`bench/run_all.py`), {total / 60:.1f} minutes in all\n"
        "- the machine may have been shared: compare the ratios, measured in one run\n\n"
        f"{TARGETS}\n{kept_notes(results)}" + "\n".join(parts)
    )
    results.write_text(report, encoding="utf-8")
    print(f"wrote bench/RESULTS.md in {total:.0f} s" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


NOTES_START = "<!-- notes: written by hand; make bench keeps them -->"
NOTES_END = "<!-- end of notes -->"


def kept_notes(results: Path) -> str:
    """The hand-written notes of the last ``RESULTS.md`` (across runs and machines), with
    their markers, or nothing if it has none."""
    try:
        text = results.read_text(encoding="utf-8")
    except OSError:
        return ""
    start, end = text.find(NOTES_START), text.find(NOTES_END)
    if start < 0 or end < start:
        return ""
    return text[start : end + len(NOTES_END)] + "\n\n"


def _demote(markdown: str) -> str:
    """Headings two levels down, so each benchmark sits under its command's heading."""
    lines = markdown.splitlines()
    return "\n".join("##" + line if line.startswith("#") else line for line in lines)


if __name__ == "__main__":
    raise SystemExit(main())
