"""``agency-client log check``: check the hub's disclosure log against what this agency saw."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands."""
