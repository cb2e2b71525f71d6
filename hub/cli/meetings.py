"""``marac-hub meeting|action …``: meetings, agendas, research, actions, minutes."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands."""
