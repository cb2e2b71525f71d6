"""``agency-client research CASE --file F``: answer a research request, sealed to the hub."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands."""
