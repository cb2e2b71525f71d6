"""The bundled agency client: receives, verifies and decrypts what the hub sends.

Imports :mod:`hub.protocol` and :mod:`hub.crypto` only, never the hub service.
"""

from agency_client.keystore import KeyDirectory

__all__ = ["KeyDirectory"]
