"""A package's names imported from its modules on first use (PEP 562).

A package whose ``__init__`` imports every module makes importing any one of them pay
for all: ``hub.crypto.keyfile`` would load sealing and announcements, ``hub.policy.policy``
the whole decision engine. Such a package lists its names here instead, and imports them
again under ``TYPE_CHECKING`` for the type checker. It lives in ``hub.protocol``, the
lowest layer, so that every package can use it (``hub.protocol`` and ``agency_client``
too). ``lazy_loader`` does the same, but wants a ``.pyi`` stub beside each package for
type checkers; this is ten lines.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each of ``names`` (name → module,
    relative to the package) imported from its module when first asked for."""

    def getattr_(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def dir_() -> list[str]:
        return sorted(names)

    return getattr_, dir_
