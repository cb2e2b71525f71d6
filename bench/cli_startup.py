"""How long the command lines take to start: this tree against an earlier commit.

Usage (from the repository root, with the project venv)::

    .venv/bin/python bench/cli_startup.py                   # 20 rounds, 3f44302^ vs HEAD
    .venv/bin/python bench/cli_startup.py --rounds 40 --before f26e2bd --after HEAD

Both commits are checked out with ``git worktree`` into a temporary directory (removed
after), so that nothing uncommitted is measured. One round first, not counted, compiles
each tree's bytecode. Both trees run with the same interpreter and installed libraries, each
first on ``PYTHONPATH`` (so its own ``hub`` and ``agency_client`` are imported), each
command as its own process, as ``marac-hub`` / ``agency-client`` would run it:
``python -c "from hub.cli import console; console()" ARGS``. Rounds are interleaved (in
each round every command runs once in each tree, the order of the trees alternating), so
a machine that gets busier or quieter during the run affects both alike.

Commands: ``--help`` of each, ``marac-hub hub show`` (reads the hub's key files, no
database) on a hub made by ``marac-hub init`` first, ``agency-client keys show`` on
keys made by ``agency-client keys new``, and two commands that read the hub's database:
``marac-hub agency list`` and ``marac-hub log head``. Prints a Markdown table of the median and 90th
percentile wall time of each, before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_line
from _worktrees import short, worktrees

# The commit before the CLIs' imports were made lazy (issue 25).
DEFAULT_BEFORE = "3f44302^"
CONSOLE = {
    "marac-hub": "import sys; sys.argv[0] = 'marac-hub'; from hub.cli import console; console()",
    "agency-client": (
        "import sys; sys.argv[0] = 'agency-client'; "
        "from agency_client.cli import console; console()"
    ),
}
ENV = {
    "MARAC_HUB_KEY_FILE_STRENGTH": "interactive",
    "AGENCY_CLIENT_PASSPHRASE": "a benchmark passphrase",
}


def _run(tree: Path, prog: str, args: list[str], cwd: Path) -> float:
    """One command's wall time in seconds (it must succeed)."""
    env = {**os.environ, **ENV, "PYTHONPATH": str(tree)}
    env.pop("MARAC_HUB_DATABASE_URL", None)
    # An installed package has its bytecode compiled (pip does it); the first, uncounted
    # round writes it into each worktree, which PYTHONDONTWRITEBYTECODE would forbid.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE[prog], *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{prog} {' '.join(args)} in {tree} failed: {done.stderr.decode()}")
    return took


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="the earlier commit")
    parser.add_argument("--after", default="HEAD", help="the later commit")
    parser.add_argument("--rounds", type=int, default=20, help="runs of each command, each tree")
    args = parser.parse_args()
    revs = {"before": args.before, "after": args.after}
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as scratch:
        work = Path(scratch)
        with worktrees(work, revs) as trees:
            return _measure(trees, revs, work, args.rounds)


def _measure(trees: dict[str, Path], revs: dict[str, str], work: Path, rounds: int) -> int:
    hub_dir, keys_dir = work / "hub", work / "keys"
    _run(trees["after"], "marac-hub", ["--data-dir", str(hub_dir), "init"], work)
    _run(trees["after"], "agency-client", ["keys", "new", "--dir", str(keys_dir)], work)
    commands = [
        ("marac-hub", ["--help"]),
        ("agency-client", ["--help"]),
        ("marac-hub", ["--data-dir", str(hub_dir), "hub", "show"]),
        ("agency-client", ["keys", "show", "--dir", str(keys_dir)]),
        ("marac-hub", ["--data-dir", str(hub_dir), "agency", "list"]),
        ("marac-hub", ["--data-dir", str(hub_dir), "log", "head"]),
    ]
    times: dict[tuple[int, str], list[float]] = {}
    for tree in trees.values():  # compile the bytecode, not counted
        for prog, argv in commands:
            _run(tree, prog, argv, work)
    started = time.perf_counter()
    for round_no in range(rounds):
        order = ["before", "after"] if round_no % 2 == 0 else ["after", "before"]
        for index, (prog, argv) in enumerate(commands):
            for name in order:
                took = _run(trees[name], prog, argv, work)
                times.setdefault((index, name), []).append(took)
    total = time.perf_counter() - started
    print("# Command-line start-up: wall time of one command, before and after lazy imports\n")
    print(machine_line())
    print(
        f"- before: {short(revs['before'])} ({revs['before']}); after: "
        f"{short(revs['after'])} ({revs['after']}); {rounds} interleaved rounds, "
        f"{total:.0f} s; each run a new process; goal: under 0.5 s\n"
    )
    print("| command | before median s | before p90 s | after median s | after p90 s | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for index, (prog, argv) in enumerate(commands):
        shown = " ".join([prog, *(a for a in argv if not a.startswith(str(work)))])
        shown = shown.replace("--data-dir ", "").replace("--dir", "--dir D")
        b, a = times[(index, "before")], times[(index, "after")]
        print(
            f"| `{shown}` | {statistics.median(b):.3f} | {_p90(b):.3f} | "
            f"{statistics.median(a):.3f} | {_p90(a):.3f} | "
            f"{statistics.median(b) / statistics.median(a):.1f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
