"""Installed adapters, found through the ``marac_hub.adapters`` entry-point group.

Every adapter (the bundled ones too) is a class registered under its name::

    [project.entry-points."marac_hub.adapters"]
    folder-drop = "marac_folder_drop:FolderDropTransport"

The registry loads each entry point, makes one instance and files it by its ``kind``
(``"transport"`` or ``"format"``). An entry point that fails to import, or whose object is
not an adapter of the name it is registered under, is reported (:attr:`Registry.broken`
and a warning in the log) and skipped: one broken package never stops the hub.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from hub.adapters.transport import Transport
from hub.protocol.errors import ProtocolError

__all__ = [
    "GROUP",
    "Broken",
    "Registry",
    "default_registry",
    "format",
    "formats",
    "load_registry",
    "transport",
    "transports",
]

GROUP = "marac_hub.adapters"
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Broken:
    """An entry point that could not be used, and why (one line)."""

    name: str
    target: str
    reason: str


@dataclass
class Registry:
    """Adapters by kind and name, and the entry points that were skipped."""

    transports: dict[str, Transport] = field(default_factory=dict)
    formats: dict[str, Any] = field(default_factory=dict)
    broken: list[Broken] = field(default_factory=list)

    def transport(self, name: str) -> Transport:
        """The transport called ``name`` (``ProtocolError`` naming the installed ones)."""
        return _pick(self.transports, name, "transport")

    def format(self, name: str) -> Any:
        """The format called ``name`` (``ProtocolError`` naming the installed ones)."""
        return _pick(self.formats, name, "format")


def _pick(found: Mapping[str, T], name: str, kind: str) -> T:
    if name not in found:
        names = ", ".join(sorted(found)) or "none"
        shown = name if len(name) <= 64 and name.isprintable() else name[:64].encode().hex()
        raise ProtocolError(f"unknown {kind} {shown!r}; installed: {names}", code="unknown-adapter")
    return found[name]


def load_registry(points: Iterable[EntryPoint] | None = None) -> Registry:
    """Load every adapter entry point (by default those installed in ``GROUP``)."""
    registry = Registry()
    for point in sorted(
        points if points is not None else entry_points(group=GROUP), key=lambda p: p.name
    ):
        try:
            adapter = _instance(point)
        except Exception as exc:  # a third party's package: report it, keep going
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            registry.broken.append(Broken(point.name, point.value, reason))
            log.warning("adapter %s (%s) skipped: %s", point.name, point.value, reason)
            continue
        shelf = registry.transports if adapter.kind == "transport" else registry.formats
        if point.name in shelf:
            registry.broken.append(Broken(point.name, point.value, "name registered twice"))
            log.warning("adapter %s (%s) skipped: name registered twice", point.name, point.value)
            continue
        shelf[point.name] = adapter
    return registry


def _instance(point: EntryPoint) -> Any:
    loaded = point.load()
    adapter = loaded() if isinstance(loaded, type) else loaded
    kind, name = getattr(adapter, "kind", None), getattr(adapter, "name", None)
    if kind not in {"transport", "format"}:
        raise TypeError(f"kind is {kind!r}, not 'transport' or 'format'")
    if name != point.name:
        raise TypeError(f"its name is {name!r}, but it is registered as {point.name!r}")
    if kind == "transport" and not isinstance(adapter, Transport):
        raise TypeError("it does not implement hub.adapters.transport.Transport")
    return adapter


_DEFAULT: list[Registry] = []


def default_registry(*, reload: bool = False) -> Registry:
    """The installed adapters, loaded once per process (``reload`` loads them again)."""
    if reload or not _DEFAULT:
        _DEFAULT[:] = [load_registry()]
    return _DEFAULT[0]


def transports() -> dict[str, Transport]:
    """Installed transports by name."""
    return dict(default_registry().transports)


def formats() -> dict[str, Any]:
    """Installed formats by name."""
    return dict(default_registry().formats)


def transport(name: str) -> Transport:
    """The installed transport called ``name``."""
    return default_registry().transport(name)


def format(name: str) -> Any:
    """The installed format called ``name``."""
    return default_registry().format(name)
