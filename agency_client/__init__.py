"""The bundled agency client: receives, verifies and decrypts what the hub sends.

Imports :mod:`hub.protocol` and :mod:`hub.crypto` only, never the hub service. The HTTP
client (:mod:`agency_client.hub_client`) and the run loop (:mod:`agency_client.runner`)
are not imported here, so that ``agency-client keys``/``open``/``inbox`` stay light.
"""

from agency_client.datadir import DataDir
from agency_client.keystore import KeyDirectory
from agency_client.store import Store

__all__ = ["DataDir", "KeyDirectory", "Store"]
