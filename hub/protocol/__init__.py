"""Wire types of the MARAC information-sharing protocol. Imports nothing of ``hub``.

The names below are imported from their modules on first use (PEP 562), so that
``import hub.protocol.errors`` (every command line does) does not load pydantic and the
message models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.protocol.canonical import b64decode, b64encode, canonical_json, sha256_hex
    from hub.protocol.envelope import (
        PROTOCOL_VERSION,
        SUITE_HYBRID,
        SUITE_X25519,
        SUITES,
        Envelope,
        Header,
        format_timestamp,
        parse_envelope,
        parse_timestamp,
    )
    from hub.protocol.errors import (
        PROBLEM_CONTENT_TYPE,
        PROBLEM_TYPES,
        CryptoError,
        DeliveryError,
        HubError,
        InvalidEnvelope,
        LogIntegrityError,
        PolicyError,
        ProtocolError,
        problem,
    )
    from hub.protocol.messages import MESSAGE_TYPES, Message, parse_message, payload_of

_HOME = {
    "hub.protocol.canonical": ("b64decode", "b64encode", "canonical_json", "sha256_hex"),
    "hub.protocol.envelope": (
        "PROTOCOL_VERSION",
        "SUITE_HYBRID",
        "SUITE_X25519",
        "SUITES",
        "Envelope",
        "Header",
        "format_timestamp",
        "parse_envelope",
        "parse_timestamp",
    ),
    "hub.protocol.errors": (
        "PROBLEM_CONTENT_TYPE",
        "PROBLEM_TYPES",
        "CryptoError",
        "DeliveryError",
        "HubError",
        "InvalidEnvelope",
        "LogIntegrityError",
        "PolicyError",
        "ProtocolError",
        "problem",
    ),
    "hub.protocol.messages": ("MESSAGE_TYPES", "Message", "parse_message", "payload_of"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}

__all__ = [
    "MESSAGE_TYPES",
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPES",
    "PROTOCOL_VERSION",
    "SUITES",
    "SUITE_HYBRID",
    "SUITE_X25519",
    "CryptoError",
    "DeliveryError",
    "Envelope",
    "Header",
    "HubError",
    "InvalidEnvelope",
    "LogIntegrityError",
    "Message",
    "PolicyError",
    "ProtocolError",
    "b64decode",
    "b64encode",
    "canonical_json",
    "format_timestamp",
    "parse_envelope",
    "parse_message",
    "parse_timestamp",
    "payload_of",
    "problem",
    "sha256_hex",
]


def __getattr__(name: str) -> Any:
    """A re-exported name, from its own module (imported now if it was not yet)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.protocol' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
