"""Typed MARAC messages: the payloads that travel inside sealed envelopes.

Every model is frozen and forbids unknown fields. Person-level fields are optional
because each extract is a *projection* of a case onto the fields the disclosure
policy allows for its purpose and recipient: what is absent was not disclosed.
Serialise with :func:`payload_of` (which drops unset fields), never by hand.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Final, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from hub.protocol.agency_kinds import AgencyKind
from hub.protocol.canonical import canonical_json
from hub.protocol.errors import ProtocolError

__all__ = [
    "MESSAGE_TYPES",
    "ActionNotice",
    "ActionStatus",
    "ActionSummary",
    "ActionUpdate",
    "Agenda",
    "AgendaItem",
    "AgencyKind",
    "BasisRef",
    "CaseExtract",
    "KeyAnnouncement",
    "MAX_DOCUMENT_BYTES",
    "MAX_DOCUMENT_DEPTH",
    "Message",
    "Minutes",
    "MinutesItem",
    "Notice",
    "PersonDetails",
    "Receipt",
    "RENDERED_TYPES",
    "ReferralInfo",
    "Rendered",
    "ResearchItem",
    "ResearchRequest",
    "ResearchResponse",
    "RiskSummary",
    "SafeContact",
    "WithheldItem",
    "parse_message",
    "payload_of",
]

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")]
Ulid = Annotated[str, StringConstraints(pattern=r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
AgencyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
B64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]*$", max_length=4096)]

ActionStatus = Literal["open", "in_progress", "completed", "cancelled"]
RiskTool = Literal["DASH", "DARA"]
RiskLevel = Literal["high", "medium", "standard"]
Criterion = Literal["visible_high_risk", "professional_judgement", "potential_escalation", "repeat"]
Consent = Literal["sought_given", "sought_refused", "not_sought"]
MAX_ITEMS: Final = 500


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Message(_Model):
    """Base of every payload type; ``message_type`` is the envelope header's ``type``."""

    message_type: ClassVar[str]


class BasisRef(_Model):
    """The lawful-basis record a disclosure relies on."""

    id: Short
    version: int = Field(ge=1)


class PersonDetails(_Model):
    """What may be disclosed of a person; ``subject_id`` is pseudonymous and always set."""

    subject_id: Ref
    role: Literal["victim", "perpetrator", "child", "other"]
    name: Name | None = None
    other_names: tuple[Name, ...] | None = Field(default=None, max_length=20)
    date_of_birth: date | None = None
    gender: Short | None = None
    address: Text | None = None
    ethnicity: Short | None = None
    disability: Short | None = None
    sexual_orientation: Short | None = None
    relationship_to_victim: Short | None = None
    school: Name | None = None


class SafeContact(_Model):
    """How, and whether, the victim may safely be contacted."""

    safe_to_contact: bool
    phone: Short | None = None
    address: Text | None = None
    times: Short | None = None
    notes: Text | None = None


class RiskSummary(_Model):
    """The risk tool used and the hub's own count of its "yes" answers."""

    tool: RiskTool
    yes_count: int = Field(ge=0, le=24)
    level: RiskLevel
    answers: tuple[bool | None, ...] | None = Field(default=None, min_length=24, max_length=24)


class ReferralInfo(_Model):
    """Why the case was referred, and what was done about consent."""

    criterion: Criterion
    referring_agency: AgencyId
    referred_on: date
    rationale: Text | None = None
    consent: Consent
    consent_exception: Text | None = None


class ActionSummary(_Model):
    """An action as it appears on an agenda (carried forward) or in an extract.

    ``description`` and ``reason`` are free text: sent only where the policy allows (by
    default a carried-forward action's text goes to its owner and the IDVA alone).
    """

    action_id: Ulid
    case_ref: Ref
    owner_agency: AgencyId
    description: Text | None = None
    due_date: date
    status: ActionStatus
    reason: Text | None = None  # why it is not completed (carried forward) or was cancelled


class AgendaItem(_Model):
    """One case on a meeting's agenda: what agencies need to search their files."""

    case_ref: Ref
    position: int = Field(ge=1, le=MAX_ITEMS)
    victim: PersonDetails | None = None
    perpetrator: PersonDetails | None = None
    children: tuple[PersonDetails, ...] | None = Field(default=None, max_length=30)
    has_children: bool
    is_repeat: bool


class Agenda(Message):
    """A meeting's agenda, children's cases first, with carried-forward actions."""

    message_type: ClassVar[str] = "agenda"
    meeting_id: Ulid
    area: Short
    meeting_date: date
    location: Short | None = None
    items: tuple[AgendaItem, ...] = Field(max_length=MAX_ITEMS)
    carried_forward: tuple[ActionSummary, ...] = Field(default=(), max_length=MAX_ITEMS)


class CaseExtract(Message):
    """A proportionate extract of one case for one recipient and purpose."""

    message_type: ClassVar[str] = "case_extract"
    case_ref: Ref
    meeting_id: Ulid | None = None
    purpose: Short
    policy_version: Short
    lawful_basis: BasisRef
    victim: PersonDetails | None = None
    perpetrator: PersonDetails | None = None
    children: tuple[PersonDetails, ...] | None = Field(default=None, max_length=30)
    risk: RiskSummary | None = None
    referral: ReferralInfo | None = None
    safe_contact: SafeContact | None = None
    perpetrator_must_not_know: bool | None = None
    actions: tuple[ActionSummary, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    summary: Text | None = None


class ResearchRequest(Message):
    """Ask an agency to search its records on a case before the meeting."""

    message_type: ClassVar[str] = "research_request"
    request_id: Ulid
    case_ref: Ref
    meeting_id: Ulid
    respond_by: date
    subjects: tuple[PersonDetails, ...] = Field(min_length=1, max_length=40)
    questions: Text | None = None


class ResearchItem(_Model):
    """One thing an agency knows, marked as fact or opinion."""

    text: Text
    kind: Literal["fact", "opinion"]
    recorded_on: date | None = None


class WithheldItem(_Model):
    """Something an agency chose not to share, and why."""

    description: Text
    reason: Text


class ResearchResponse(Message):
    """An agency's answer to a research request."""

    message_type: ClassVar[str] = "research_response"
    request_id: Ulid
    case_ref: Ref
    agency_id: AgencyId
    responded_at: AwareDatetime
    nothing_known: bool
    items: tuple[ResearchItem, ...] = Field(default=(), max_length=MAX_ITEMS)
    withheld: tuple[WithheldItem, ...] = Field(default=(), max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _consistent(self) -> ResearchResponse:
        if self.nothing_known and self.items:
            raise ValueError("nothing_known contradicts the items returned")
        return self


class ActionNotice(Message):
    """Tell the owning agency about an action agreed at the meeting."""

    message_type: ClassVar[str] = "action_notice"
    action: ActionSummary
    meeting_id: Ulid | None = None
    victim: PersonDetails | None = None
    safe_contact: SafeContact | None = None
    perpetrator_must_not_know: bool | None = None


class ActionUpdate(Message):
    """An agency's update on an action it owns; every update is kept."""

    message_type: ClassVar[str] = "action_update"
    action_id: Ulid
    case_ref: Ref
    status: ActionStatus
    updated_at: AwareDatetime
    note: Text | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _reason_when_not_done(self) -> ActionUpdate:
        if self.status == "cancelled" and self.reason is None:
            raise ValueError("a cancelled action needs a reason")
        return self


class Receipt(Message):
    """An agency's acknowledgement of one envelope, by id and hash."""

    message_type: ClassVar[str] = "receipt"
    envelope_id: Ulid
    envelope_sha256: Fingerprint
    agency_id: AgencyId
    received_at: AwareDatetime


class KeyAnnouncement(Message):
    """A new encryption key, to be signed by the announcing party's identity key."""

    message_type: ClassVar[str] = "key_announcement"
    party: AgencyId
    identity_key: B64
    encryption_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=2048)]
    suite: Short
    created_at: AwareDatetime
    expires_at: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> KeyAnnouncement:
        if self.expires_at <= self.created_at:
            raise ValueError("expires_at must follow created_at")
        return self


class MinutesItem(_Model):
    """One case as the minutes record it: what was decided, and the actions agreed."""

    case_ref: Ref
    victim: PersonDetails | None = None
    discussion: Text | None = None
    actions: tuple[ActionSummary, ...] = Field(default=(), max_length=MAX_ITEMS)


class Minutes(Message):
    """A meeting's minutes: restricted, sent sealed only to the agencies that attended."""

    message_type: ClassVar[str] = "minutes"
    meeting_id: Ulid
    area: Short
    meeting_date: date
    attended: tuple[AgencyId, ...] = Field(min_length=1, max_length=MAX_ITEMS)
    apologies: tuple[AgencyId, ...] = Field(default=(), max_length=MAX_ITEMS)
    items: tuple[MinutesItem, ...] = Field(max_length=MAX_ITEMS)


class Notice(Message):
    """A free-text notice from a coordinator."""

    message_type: ClassVar[str] = "notice"
    text: Text


FormatName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,39}$")]
RenderedType = Literal[
    "agenda", "case_extract", "research_request", "action_notice", "minutes", "notice"
]
RENDERED_TYPES: Final = frozenset(get_args(RenderedType))
MAX_DOCUMENT_BYTES: Final = 4 * 1024 * 1024  # canonical JSON of the document
MAX_DOCUMENT_DEPTH: Final = 32


class Rendered(Message):
    """A hub message rendered in the recipient's format (``fhir-r4``, ``pole``, ...).

    ``document`` is that format's plaintext (a FHIR Bundle, a POLE document), built by
    the format adapter from the typed, policy-projected ``original_type`` message and
    sealed in its place. It is any JSON object, bounded in size and depth; what it must
    look like is the format's business (``hub.adapters.formats``).
    """

    message_type: ClassVar[str] = "rendered"
    format: FormatName
    original_type: RenderedType
    document: dict[str, JsonValue]

    @field_validator("document", mode="before")
    @classmethod
    def _shallow(cls, document: object) -> object:
        if _depth(document) > MAX_DOCUMENT_DEPTH:
            raise ValueError(f"the document is nested deeper than {MAX_DOCUMENT_DEPTH}")
        return document

    @field_validator("document")
    @classmethod
    def _small(cls, document: dict[str, JsonValue]) -> dict[str, JsonValue]:
        try:
            size = len(canonical_json(document))
        except ProtocolError:
            raise ValueError("the document is not canonical JSON") from None
        if size > MAX_DOCUMENT_BYTES:
            raise ValueError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
        return document


def _depth(value: object) -> int:
    """How deeply ``value`` nests arrays and objects (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DOCUMENT_DEPTH:
                return level
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


MESSAGE_TYPES: Final[dict[str, type[Message]]] = {
    cls.message_type: cls
    for cls in (
        Agenda,
        CaseExtract,
        ResearchRequest,
        ResearchResponse,
        ActionNotice,
        ActionUpdate,
        Receipt,
        KeyAnnouncement,
        Minutes,
        Notice,
        Rendered,
    )
}


def payload_of(message: Message) -> dict[str, Any]:
    """The JSON payload of ``message``: only the fields that were set, in JSON types."""
    return message.model_dump(mode="json", exclude_none=True)


def parse_message(message_type: str, payload: object) -> Message:
    """Validate ``payload`` as a ``message_type``; errors name fields, never values."""
    cls = MESSAGE_TYPES.get(message_type)
    if cls is None:
        raise ProtocolError("unknown message type", code="unknown-type")
    try:
        return cls.model_validate(payload)
    except ValidationError as exc:
        where = "; ".join(
            f"{_location(err['loc'], err['type'])}: {err['type']}"
            for err in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise ProtocolError(f"invalid {message_type}: {where}", code="invalid-message") from None


def _location(loc: tuple[int | str, ...], error_type: str) -> str:
    """The dotted path of an error; an unknown key is input, so it is not repeated."""
    parts = [str(p) for p in loc]
    if error_type == "extra_forbidden" and parts:
        parts[-1] = "(unknown field)"
    return ".".join(parts) or "(payload)"
