"""The bundled agency client: receives, verifies and decrypts what the hub sends.

Imports :mod:`hub.protocol` and :mod:`hub.crypto` only, never the hub service. The HTTP
client (:mod:`agency_client.hub_client`) and the run loop (:mod:`agency_client.runner`)
are not imported here, and the names below are imported on first use (PEP 562), so that
``agency-client --help`` and ``keys``/``open``/``inbox`` stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agency_client.datadir import DataDir
    from agency_client.keystore import KeyDirectory
    from agency_client.store import Store

_MODULE_OF = {
    "DataDir": "agency_client.datadir",
    "KeyDirectory": "agency_client.keystore",
    "Store": "agency_client.store",
}

__all__ = ["DataDir", "KeyDirectory", "Store"]


def __getattr__(name: str) -> Any:
    """A re-exported name, from its own module (imported now if it was not yet)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'agency_client' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
