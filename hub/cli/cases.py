"""``marac-hub area|case|report|retention …``: areas, referrals and cases."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands."""
