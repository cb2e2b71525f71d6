"""The error hierarchy and RFC 9457 problem details.

Every failure the hub or the client can act on is a subclass of :class:`HubError`
with a stable ``code``; :func:`problem` turns one into an RFC 9457 problem+json
document. The CLI catches :class:`HubError` once and prints one line; the API maps it
to a response with the matching status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final

PROBLEM_BASE: Final = "https://marac-hub.org/problems/"
PROBLEM_CONTENT_TYPE: Final = "application/problem+json"


class HubError(Exception):
    """Root of every error marac-hub raises on purpose."""

    default_code: ClassVar[str] = "hub-error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, code: ErrorCode | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = str(code or self.default_code)

    def diagnostics(self) -> str:
        """One line for a person: the code and the message."""
        return " ".join(f"{self.code}: {self.message}".splitlines())


class ProtocolError(HubError):
    """Input that does not follow the wire protocol (malformed, oversized, unknown)."""

    default_code = "malformed"
    status = 400


class CryptoError(HubError):
    """A key, key file or cryptographic operation failed."""

    default_code = "crypto-error"
    status = 400


class InvalidEnvelope(CryptoError):
    """An envelope could not be opened. Deliberately opaque: it never says why."""

    default_code = "invalid-envelope"

    def __init__(self) -> None:
        super().__init__("the envelope could not be opened")


class PolicyError(HubError):
    """A disclosure the policy forbids (no lawful basis, ISP not signed, ...)."""

    default_code = "policy-refused"
    status = 403


class DeliveryError(HubError):
    """An envelope could not be delivered."""

    default_code = "delivery-failed"
    status = 502


class LogIntegrityError(HubError):
    """The disclosure log failed verification."""

    default_code = "log-integrity"
    status = 500


class ErrorCode(StrEnum):
    """Every error code marac-hub and its client raise: one member a problem type.

    ``tests/protocol/test_error_codes.py`` checks that the members and the problem table
    below name the same codes, and that every code the source raises is a member.
    """

    MALFORMED = "malformed"
    MALFORMED_JSON = "malformed-json"
    UNSUPPORTED_VERSION = "unsupported-version"
    UNKNOWN_TYPE = "unknown-type"
    UNKNOWN_SUITE = "unknown-suite"
    BAD_ULID = "bad-ulid"
    BAD_TIMESTAMP = "bad-timestamp"
    NAIVE_TIMESTAMP = "naive-timestamp"
    BAD_BASE64 = "bad-base64"
    BAD_FINGERPRINT = "bad-fingerprint"
    MISSING_FIELD = "missing-field"
    UNKNOWN_FIELD = "unknown-field"
    WRONG_TYPE = "wrong-type"
    FIELD_TOO_LARGE = "field-too-large"
    INVALID_MESSAGE = "invalid-message"
    PAYLOAD_TOO_LARGE = "payload-too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    INVALID_ENVELOPE = "invalid-envelope"
    BAD_SIGNATURE = "bad-signature"
    CRYPTO_ERROR = "crypto-error"
    BAD_KEY_FILE = "bad-key-file"
    WRONG_PASSPHRASE = "wrong-passphrase"  # noqa: S105 - an error code, not a secret
    KEY_DESTROYED = "key-destroyed"
    INVALID_REFERRAL = "invalid-referral"
    KEY_EXPIRED = "key-expired"
    UNKNOWN_AGENCY = "unknown-agency"
    KEY_REVOKED = "key-revoked"
    REPLAYED_REQUEST = "replayed-request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    CONFLICT = "conflict"
    TOO_MANY_REQUESTS = "too-many-requests"
    AGENCY_NOT_APPROVED = "agency-not-approved"
    AGENCY_SUSPENDED = "agency-suspended"
    AGENCY_NOT_ACTIVE = "agency-not-active"
    BAD_ENROLMENT_CODE = "bad-enrolment-code"
    FINGERPRINT_MISMATCH = "fingerprint-mismatch"
    UNKNOWN_ENVELOPE = "unknown-envelope"
    BAD_RECEIPT = "bad-receipt"
    BAD_TREE_HEAD = "bad-tree-head"
    BAD_NOTE = "bad-note"
    BAD_CHECKPOINT = "bad-checkpoint"
    BAD_COSIGNATURE = "bad-cosignature"
    LOG_FORK = "log-fork"
    NO_LAWFUL_BASIS = "no-lawful-basis"
    ISP_NOT_SIGNED = "isp-not-signed"
    POLICY_REFUSED = "policy-refused"
    INVALID_POLICY = "invalid-policy"
    DELIVERY_FAILED = "delivery-failed"
    LOG_INTEGRITY = "log-integrity"
    SENDER_MISMATCH = "sender-mismatch"
    WRONG_RECIPIENT = "wrong-recipient"
    UNHANDLED_TYPE = "unhandled-type"
    CASE_MISMATCH = "case-mismatch"
    DUPLICATE_ENVELOPE = "duplicate-envelope"
    REASON_REQUIRED = "reason-required"
    MEETING_CLOSED = "meeting-closed"
    NOT_REQUESTED = "not-requested"
    NOT_ACTION_OWNER = "not-action-owner"
    RECIPIENT_OUTSIDE_AREA = "recipient-outside-area"
    CASE_OUTSIDE_AREA = "case-outside-area"
    AGENCY_OUTSIDE_AREA = "agency-outside-area"
    SELF_APPROVAL = "self-approval"
    ALREADY_ENROLLED = "already-enrolled"
    BAD_ARGUMENT = "bad-argument"
    BAD_CONFIG = "bad-config"
    BAD_FILE = "bad-file"
    BAD_PROXY = "bad-proxy"
    BAD_SINK = "bad-sink"
    BAD_URL = "bad-url"
    BUSY = "busy"
    ENROLMENT_MISMATCH = "enrolment-mismatch"
    HUB_KEY_CHANGED = "hub-key-changed"
    HUB_REFUSED = "hub-refused"
    HUB_UNREACHABLE = "hub-unreachable"
    INSECURE_URL = "insecure-url"
    KEY_MISMATCH = "key-mismatch"
    STORE_DAMAGED = "store-damaged"
    STORE_ERROR = "store-error"
    TLS_ERROR = "tls-error"
    UNAVAILABLE = "unavailable"
    UNKNOWN_ACTION = "unknown-action"
    UNKNOWN_ADAPTER = "unknown-adapter"
    UNKNOWN_CASE = "unknown-case"
    UNKNOWN_FORMAT = "unknown-format"
    UNKNOWN_MESSAGE = "unknown-message"
    UNREADABLE_MESSAGE = "unreadable-message"
    WRONG_STORE_KEY = "wrong-store-key"
    HUB_ERROR = "hub-error"


@dataclass(frozen=True, slots=True)
class ProblemType:
    """A stable problem type: its code, HTTP status and human title."""

    code: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        """The ``type`` member of the problem document."""
        return PROBLEM_BASE + self.code


_TYPES: Final = (
    ProblemType("malformed", 400, "Malformed request"),
    ProblemType("malformed-json", 400, "Body is not valid JSON"),
    ProblemType("unsupported-version", 400, "Unsupported protocol version"),
    ProblemType("unknown-type", 400, "Unknown message type"),
    ProblemType("unknown-suite", 400, "Unknown cipher suite"),
    ProblemType("bad-ulid", 400, "Identifier is not a ULID"),
    ProblemType("bad-timestamp", 400, "Timestamp is not RFC 3339 UTC"),
    ProblemType("naive-timestamp", 400, "Timestamp has no time zone"),
    ProblemType("bad-base64", 400, "Field is not valid base64url"),
    ProblemType("bad-fingerprint", 400, "Key fingerprint is not 64 hex digits"),
    ProblemType("missing-field", 400, "A required field is missing"),
    ProblemType("unknown-field", 400, "An unexpected field is present"),
    ProblemType("wrong-type", 400, "A field has the wrong JSON type"),
    ProblemType("field-too-large", 400, "A field is longer than allowed"),
    ProblemType("invalid-message", 400, "Message payload does not match its type"),
    ProblemType("payload-too-large", 413, "Payload too large"),
    ProblemType("unsupported-media-type", 415, "Unsupported content type"),
    ProblemType("invalid-envelope", 400, "Envelope could not be opened"),
    ProblemType("bad-signature", 401, "Signature does not verify"),
    ProblemType("crypto-error", 400, "Cryptographic operation failed"),
    ProblemType("bad-key-file", 400, "Key file is damaged or of the wrong kind"),
    ProblemType("wrong-passphrase", 400, "Wrong passphrase or damaged key file"),
    ProblemType("key-destroyed", 410, "The data key was destroyed"),
    ProblemType("invalid-referral", 400, "Referral is incomplete or inconsistent"),
    ProblemType("key-expired", 403, "Key is expired or not yet valid"),
    ProblemType("unknown-agency", 401, "Unknown agency"),
    ProblemType("key-revoked", 403, "Key revoked"),
    ProblemType("replayed-request", 401, "Request replayed or outside its time window"),
    ProblemType("unauthorized", 401, "Authentication required"),
    ProblemType("forbidden", 403, "Your role may not do this"),
    ProblemType("not-found", 404, "Not found"),
    ProblemType("method-not-allowed", 405, "Method not allowed"),
    ProblemType("conflict", 409, "Conflicts with the current state"),
    ProblemType("too-many-requests", 429, "Too many requests"),
    ProblemType("agency-not-approved", 403, "Agency enrolled but not yet approved"),
    ProblemType("agency-suspended", 403, "Agency suspended"),
    ProblemType("agency-not-active", 403, "Recipient agency is not active"),
    ProblemType("bad-enrolment-code", 403, "Enrolment code wrong, used or expired"),
    ProblemType("fingerprint-mismatch", 409, "Fingerprint differs from the enrolled key"),
    ProblemType("unknown-envelope", 404, "No such envelope for this agency"),
    ProblemType("bad-receipt", 400, "Receipt does not verify"),
    ProblemType("bad-tree-head", 400, "Tree head is malformed or does not verify"),
    ProblemType("bad-note", 400, "Signed note is malformed or does not verify"),
    ProblemType("bad-checkpoint", 400, "Checkpoint is malformed or of another log"),
    ProblemType("bad-cosignature", 400, "Cosignature is malformed or does not verify"),
    ProblemType("log-fork", 409, "Checkpoint is inconsistent with one already witnessed"),
    ProblemType("no-lawful-basis", 403, "No lawful basis covers this disclosure"),
    ProblemType("isp-not-signed", 403, "Recipient has not signed the current ISP"),
    ProblemType("policy-refused", 403, "Disclosure refused by policy"),
    ProblemType("invalid-policy", 400, "Disclosure policy file is invalid"),
    ProblemType("delivery-failed", 502, "Delivery failed"),
    ProblemType("log-integrity", 500, "Disclosure log failed verification"),
    ProblemType("sender-mismatch", 403, "Envelope or payload names another sender"),
    ProblemType("wrong-recipient", 400, "Envelope is addressed to another hub"),
    ProblemType("unhandled-type", 400, "The hub accepts no message of this type"),
    ProblemType("case-mismatch", 400, "Payload's case differs from its envelope's"),
    ProblemType("duplicate-envelope", 409, "Another envelope was received under this id"),
    ProblemType("reason-required", 400, "Say why the action is not completed"),
    ProblemType("meeting-closed", 409, "The meeting's minutes were sent: it is closed"),
    ProblemType("not-requested", 403, "This agency was not asked for this research"),
    ProblemType("not-action-owner", 403, "Only the owning agency may update this action"),
    ProblemType("recipient-outside-area", 403, "The recipient does not serve the case's area"),
    ProblemType("case-outside-area", 403, "The case belongs to an area you do not work in"),
    ProblemType("agency-outside-area", 403, "The agency does not serve your areas"),
    ProblemType("self-approval", 403, "A second person must approve this"),
    ProblemType("already-enrolled", 409, "This client is already enrolled"),
    ProblemType("bad-argument", 400, "A command-line argument is wrong"),
    ProblemType("bad-config", 400, "Adapter or delivery settings are invalid"),
    ProblemType("bad-file", 400, "A file could not be read or parsed"),
    ProblemType("bad-proxy", 400, "The proxy setting is not an http(s) URL"),
    ProblemType("bad-sink", 400, "The sink setting is invalid"),
    ProblemType("bad-url", 400, "The hub's URL is invalid"),
    ProblemType("busy", 409, "The data directory is in use by another process"),
    ProblemType("enrolment-mismatch", 409, "The hub answered for another agency or key"),
    ProblemType(
        "hub-key-changed", 409, "The hub's identity key differs from the one pinned at enrolment"
    ),
    ProblemType("hub-refused", 502, "The hub refused the request"),
    ProblemType("hub-unreachable", 503, "The hub could not be reached"),
    ProblemType("insecure-url", 400, "The hub's URL is not HTTPS"),
    ProblemType("key-mismatch", 409, "The key does not match the one expected"),
    ProblemType("store-damaged", 500, "The local store is damaged"),
    ProblemType("store-error", 500, "The local store failed"),
    ProblemType("tls-error", 502, "TLS handshake or certificate check failed"),
    ProblemType("unavailable", 503, "The hub is stopping or unavailable"),
    ProblemType("unknown-action", 404, "No such action"),
    ProblemType("unknown-adapter", 400, "No such adapter is installed"),
    ProblemType("unknown-case", 404, "No such case"),
    ProblemType("unknown-format", 400, "No such format is installed"),
    ProblemType("unknown-message", 404, "No such message"),
    ProblemType("unreadable-message", 400, "The message could not be read"),
    ProblemType("wrong-store-key", 400, "Wrong passphrase for the local store"),
    ProblemType("hub-error", 500, "Internal error"),
)

PROBLEM_TYPES: Final[dict[str, ProblemType]] = {t.code: t for t in _TYPES}


def problem(error: HubError, *, instance: str | None = None) -> dict[str, Any]:
    """Render ``error`` as an RFC 9457 problem details object."""
    known = PROBLEM_TYPES.get(error.code)
    status = known.status if known else error.status
    doc: dict[str, Any] = {
        "type": PROBLEM_BASE + error.code,
        "title": known.title if known else error.code,
        "status": status,
        "detail": error.message,
    }
    if instance is not None:
        doc["instance"] = instance
    return doc
