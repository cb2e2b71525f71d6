"""Wire types of the MARAC information-sharing protocol. Imports nothing of ``hub`` outside it.

The names below are imported from their modules on first use (PEP 562), so that
``import hub.protocol.errors`` (every command line does) does not load pydantic and the
message models.
"""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "b64decode": "canonical",
        "b64encode": "canonical",
        "canonical_json": "canonical",
        "sha256_hex": "canonical",
        "PROTOCOL_VERSION": "envelope",
        "SUITE_HYBRID": "envelope",
        "SUITE_X25519": "envelope",
        "SUITES": "envelope",
        "Envelope": "envelope",
        "Header": "envelope",
        "format_timestamp": "envelope",
        "parse_envelope": "envelope",
        "parse_timestamp": "envelope",
        "PROBLEM_CONTENT_TYPE": "errors",
        "PROBLEM_TYPES": "errors",
        "CryptoError": "errors",
        "DeliveryError": "errors",
        "HubError": "errors",
        "InvalidEnvelope": "errors",
        "LogIntegrityError": "errors",
        "PolicyError": "errors",
        "ProtocolError": "errors",
        "problem": "errors",
        "MESSAGE_TYPES": "messages",
        "Message": "messages",
        "parse_message": "messages",
        "payload_of": "messages",
    },
)
