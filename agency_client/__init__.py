"""The bundled agency client: receives, verifies and decrypts what the hub sends.

Imports :mod:`hub.protocol` and :mod:`hub.crypto` only, never the hub service. The HTTP
client (:mod:`agency_client.hub_client`) and the run loop (:mod:`agency_client.runner`)
are not imported here, and the names below are imported on first use (PEP 562), so that
``agency-client --help`` and ``keys``/``open``/``inbox`` stay light.
"""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from agency_client.datadir import DataDir
    from agency_client.keystore import KeyDirectory
    from agency_client.store import Store

__all__ = ["DataDir", "KeyDirectory", "Store"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"DataDir": "datadir", "KeyDirectory": "keystore", "Store": "store"}
)
