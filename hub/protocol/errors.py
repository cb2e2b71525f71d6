"""The error hierarchy and RFC 9457 problem details.

Every failure the hub or the client can act on is a subclass of :class:`HubError`
with a stable ``code``; :func:`problem` turns one into an RFC 9457 problem+json
document. The CLI catches :class:`HubError` once and prints one line; the API maps it
to a response with the matching status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

PROBLEM_BASE: Final = "https://marac-hub.org/problems/"
PROBLEM_CONTENT_TYPE: Final = "application/problem+json"


class HubError(Exception):
    """Root of every error marac-hub raises on purpose."""

    default_code: ClassVar[str] = "hub-error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

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
    ProblemType("agency-not-approved", 403, "Agency enrolled but not yet approved"),
    ProblemType("agency-suspended", 403, "Agency suspended"),
    ProblemType("agency-not-active", 403, "Recipient agency is not active"),
    ProblemType("bad-enrolment-code", 403, "Enrolment code wrong, used or expired"),
    ProblemType("fingerprint-mismatch", 409, "Fingerprint differs from the enrolled key"),
    ProblemType("unknown-envelope", 404, "No such envelope for this agency"),
    ProblemType("bad-receipt", 400, "Receipt does not verify"),
    ProblemType("bad-tree-head", 400, "Tree head is malformed or does not verify"),
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
