"""Who is acting: a member of staff, their role and areas, and the door they came through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["DOORS", "Actor", "Door", "operator"]

Door = Literal["api", "web", "cli"]
DOORS: Final = ("api", "web", "cli")


@dataclass(frozen=True, slots=True)
class Actor:
    """A member of staff acting through one door.

    ``areas`` is the set of MARAC areas a coordinator works in; ``None`` for an admin or
    a DPO (every area, for what their role allows). ``log_name`` is how the disclosure
    log names them (``role:name``), whatever the door.
    """

    name: str
    role: str
    areas: frozenset[str] | None
    door: Door

    @property
    def log_name(self) -> str:
        """``role:name``: the ``actor`` of every log entry this person causes."""
        return f"{self.role}:{self.name}"

    def works_in(self, area_id: str) -> bool:
        """True if this person may work (write) in ``area_id``, by role and areas."""
        if self.role == "admin":
            return True
        return self.role == "coordinator" and self.areas is not None and area_id in self.areas


def operator(name: str = "cli") -> Actor:
    """The operator at the hub's host (who holds its keys): an admin of every area."""
    return Actor(name=name, role="admin", areas=None, door="cli")
