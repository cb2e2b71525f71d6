"""The witness quorum of the disclosure log: the policy file's ``[witness]`` table.

::

    [witness]
    quorum = 2          # agencies whose cosignature a checkpoint needs
    distinct_kinds = 2  # of at least this many kinds (police, health, ...)
    grace_minutes = 30  # a checkpoint signed longer ago must be covered by a witnessed one

``marac-hub log verify`` fails when a checkpoint signed more than ``grace_minutes`` ago
is not covered by (is not at or below the size of) a checkpoint cosigned by ``quorum``
agencies of ``distinct_kinds`` kinds or more. ``quorum = 0`` turns the check off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

__all__ = ["WitnessQuorum", "parse_witness"]

_KEYS: Final = {"quorum": (0, 64), "distinct_kinds": (0, 64), "grace_minutes": (1, 10_080)}


@dataclass(frozen=True, slots=True)
class WitnessQuorum:
    """How many independent witnesses a checkpoint needs, and how soon."""

    quorum: int = 2
    distinct_kinds: int = 2
    grace_minutes: int = 30

    @property
    def grace(self) -> timedelta:
        """How long a new checkpoint may wait for its cosignatures."""
        return timedelta(minutes=self.grace_minutes)

    def met(self, kinds: Mapping[str, str]) -> bool:
        """True if the cosigning agencies ``kinds`` (agency id -> kind) are a quorum."""
        return len(kinds) >= self.quorum and len(set(kinds.values())) >= min(
            self.distinct_kinds, self.quorum
        )

    def describe(self) -> str:
        """In words, for error messages and pages."""
        return f"{self.quorum} agencies of at least {min(self.distinct_kinds, self.quorum)} kinds"

    def to_json(self) -> dict[str, Any]:
        """The table as JSON."""
        return {
            "quorum": self.quorum,
            "distinct_kinds": self.distinct_kinds,
            "grace_minutes": self.grace_minutes,
        }


_DEFAULT: Final = WitnessQuorum()


def parse_witness(raw: object, errors: list[str]) -> WitnessQuorum:
    """The ``[witness]`` table (the defaults if absent); problems appended to ``errors``."""
    if raw is None:
        return WitnessQuorum()
    if not isinstance(raw, dict):
        errors.append("witness must be a table")
        return WitnessQuorum()
    errors.extend(f"witness: unknown key {k!r}"[:80] for k in sorted(set(raw) - set(_KEYS)))
    values: dict[str, int] = {}
    for key, (low, high) in _KEYS.items():
        value = raw.get(key, getattr(_DEFAULT, key))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(f"witness: {key} must be a whole number from {low} to {high}")
            continue
        values[key] = value
    return WitnessQuorum(**values)
