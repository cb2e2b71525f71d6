"""Wire types of the MARAC information-sharing protocol. Imports nothing of ``hub``."""

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
