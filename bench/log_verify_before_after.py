"""``log verify`` of 10^6 entries: this tree against an earlier commit, side by side.

Usage (from the repository root, with the project venv and the bench extra)::

    .venv/bin/python bench/log_verify_before_after.py                 # 67f07a8^ vs HEAD
    .venv/bin/python bench/log_verify_before_after.py --before REV --rounds 3 --size 100000

One stored log of ``--size`` entries (SQLite, WAL, with each entry's search rows, grown as
``bench/log.py`` grows it: a realistic disclosure entry each) and a head signed over it are
made once. Each commit is checked out with ``git worktree`` (removed after) and its own
``hub.log.verify.verify_log`` is timed on that same file, each run a new process with
that tree first on ``PYTHONPATH``, the two trees alternating round by round so that a
machine getting busier or quieter affects both alike. The default ``before`` is the
commit before issue 24 made verify compare the search index and the witnesses' checks:
the figure the issue holds this one to (no more than 1.5 times).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_line
from _worktrees import short, worktrees

DEFAULT_BEFORE = "67f07a8^"  # before issue 24's index comparison
TIMED = """
import asyncio, sys, time
from pathlib import Path
from hub.crypto.keys import IdentityPublicKey
from hub.log.verify import verify_log
from hub.storage.engine import create_engine

async def main(path):
    key = IdentityPublicKey.from_bytes(Path(path + ".pub").read_bytes())
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    started = time.perf_counter()
    async with engine.connect() as conn:
        result = await verify_log(conn, key, "hub")
    took = time.perf_counter() - started
    await engine.dispose()
    print(result.size, took)

asyncio.run(main(sys.argv[1]))
"""


async def build(path: Path, size: int) -> None:
    """The stored log of ``size`` entries and a head over it; the key's public half."""
    from log import grow_stored_log  # noqa: PLC0415 (bench/log.py: pymerkle only when run)

    from hub.storage.engine import create_engine  # noqa: PLC0415

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    identity = await grow_stored_log(engine, size)
    Path(f"{path}.pub").write_bytes(identity.public.raw)
    await engine.dispose()


def timed(tree: Path, path: Path) -> tuple[int, float]:
    """One verify of ``path`` with ``tree``'s code, in a process of its own."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", TIMED, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"verify with {tree} failed: {done.stderr.strip()[-400:]}")
    size, took = done.stdout.split()
    return int(size), float(took)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="the earlier commit")
    parser.add_argument("--after", default="HEAD", help="the later commit")
    parser.add_argument("--rounds", type=int, default=3, help="verifies of each tree")
    parser.add_argument("--size", type=int, default=10**6, help="entries in the log")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="log-verify-") as scratch:
        work = Path(scratch)
        path = work / "log.sqlite3"
        started = time.perf_counter()
        asyncio.run(build(path, args.size))
        built = time.perf_counter() - started
        revs = {"before": args.before, "after": args.after}
        with worktrees(work, revs) as trees:
            times: dict[str, list[float]] = {"before": [], "after": []}
            for round_no in range(args.rounds):
                order = ["before", "after"] if round_no % 2 == 0 else ["after", "before"]
                for name in order:
                    size, took = timed(trees[name], path)
                    assert size == args.size, (name, size)
                    times[name].append(took)
    shown = {name: short(rev) for name, rev in revs.items()}
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"# log verify of {args.size:,} entries, before and after\n")
    print(machine_line())
    print(
        f"- before: {shown['before']} ({revs['before']}); after: {shown['after']} "
        f"({revs['after']}); {args.rounds} interleaved rounds; log built in {built:.0f} s\n"
    )
    print("| tree | runs (s) | median s |")
    print("| --- | --- | ---: |")
    for name in ("before", "after"):
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {name} | {runs} | {statistics.median(times[name]):.2f} |")
    print(f"\nafter / before: {after / before:.2f}x (goal: no more than 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
