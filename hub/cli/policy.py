"""``marac-hub basis|isp|policy …``: lawful bases, the ISP, the disclosure policy."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands."""
