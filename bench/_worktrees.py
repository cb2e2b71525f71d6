"""Two commits checked out side by side, for a benchmark that times both in one run."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def worktrees(work: Path, revs: dict[str, str]) -> Iterator[dict[str, Path]]:
    """Each of ``revs`` (name → commit) checked out with ``git worktree`` under ``work``;
    removed after."""
    trees = {name: work / name for name in revs}
    try:
        for name, tree in trees.items():
            subprocess.run(
                ["git", "worktree", "add", "--detach", "--quiet", str(tree), revs[name]],
                cwd=ROOT,
                check=True,
            )
        yield trees
    finally:
        for tree in trees.values():
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
            )


def short(rev: str) -> str:
    """The commit's short hash."""
    return subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
