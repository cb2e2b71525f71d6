"""``marac-hub log …``: the DPO's tools over the disclosure log."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands."""
