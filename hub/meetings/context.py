"""Legacy: a disclosure context read off a running hub's mapping of parts, without HTTP.

Use-cases build theirs with ``Runtime.context()``; this remains for pages not yet moved
to ``hub.app`` (``hub.web.views_dashboard``). It imports nothing from the doors: it finds
the hub's keys, settings and policy among ``parts``' values by their types.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from hub.disclosure import DisclosureContext
from hub.hub_keys import HubKeys
from hub.policy.policy import Policy
from hub.settings import Settings

__all__ = ["disclosure_context"]

T = TypeVar("T")


def _one(parts: Mapping[Any, Any], kind: type[T]) -> T:
    for value in parts.values():
        if isinstance(value, kind):
            return value
    raise LookupError(f"the running hub holds no {kind.__name__}")


def disclosure_context(parts: Mapping[Any, Any], now: datetime | None = None) -> DisclosureContext:
    """The running hub's keys, settings and policy (``parts``: the application), at ``now``."""
    return DisclosureContext(
        _one(parts, HubKeys), _one(parts, Settings), _one(parts, Policy), now or datetime.now(UTC)
    )
