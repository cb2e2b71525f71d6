"""``agency-client action update ID …``: report progress on an action the agency owns."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands."""
