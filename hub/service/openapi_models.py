"""The API's request and response bodies as pydantic models, for its OpenAPI document.

The routes declare them with ``hub.service.openapi.documented``; the contract test runs
schemathesis over the document against a real hub, so a body that no longer matches its
model fails the build. Objects whose shape belongs to another document (a sealed
envelope, a referral, a log entry, a case's decrypted view) are described as open JSON
objects with a pointer to where they are specified.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "NewToken",
    "NewTokenBody",
    "TokenList",
    "TokenOut",
    "TokensRevoked",
    "Acknowledged",
    "ActionBody",
    "ActionCreated",
    "ActionList",
    "ActionOut",
    "ActionShown",
    "ActionUpdateBody",
    "ActionUpdated",
    "ActionsQuery",
    "AgencyList",
    "AgencyStatus",
    "AlertList",
    "Approval",
    "AreaBody",
    "AreaList",
    "AreaOut",
    "AttendanceBody",
    "BasesQuery",
    "Basis",
    "BasisBody",
    "BasisList",
    "CaseList",
    "CaseOut",
    "CaseRefBody",
    "CasesQuery",
    "Chased",
    "Consistency",
    "ConsistencyQuery",
    "Delivery",
    "DeliveryBody",
    "Enrolled",
    "EnrolmentBody",
    "Envelopes",
    "EvidenceBody",
    "EvidenceBundle",
    "EntriesQuery",
    "ExplainQuery",
    "Explanation",
    "ExportQuery",
    "ExtractBody",
    "ExtractOutcome",
    "FourEyes",
    "FourEyesBody",
    "HeldDecision",
    "HeldList",
    "HeldQuery",
    "HubInfo",
    "InclusionProof",
    "InclusionQuery",
    "Invitation",
    "Invited",
    "IspBody",
    "IspOverview",
    "IspSignatureBody",
    "IspSigned",
    "IspVersion",
    "KeyEntries",
    "KeyRegistered",
    "LogPage",
    "MailboxQuery",
    "MeetingBody",
    "MeetingCandidates",
    "MeetingList",
    "MeetingOut",
    "MeetingView",
    "MeetingsQuery",
    "MemberAgency",
    "MemberAgencyBody",
    "MemberUser",
    "MemberUserBody",
    "MessageBody",
    "MessageReceived",
    "MinutesBody",
    "MinutesSent",
    "NewUser",
    "NewUserBody",
    "NoticeBody",
    "NoticesSent",
    "OpenApiDocument",
    "PolicyDocument",
    "PoleSchema",
    "Problem",
    "PublishBody",
    "Published",
    "ReceiptsBody",
    "Referral",
    "Referred",
    "Research",
    "Retired",
    "SignedAnnouncement",
    "TreeHead",
    "UserList",
    "UserRevoked",
    "Verified",
]

JsonObject = dict[str, Any]
Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$",
        description="An ISO 8601 time in UTC (with no offset when the hub runs on SQLite)",
    ),
]


class _In(BaseModel):
    """A request body: unknown members are refused."""

    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    """A response body."""


class _Query(BaseModel):
    """Query parameters (each member one parameter, sent as text)."""


# -- errors --------------------------------------------------------------------------


class Problem(_Out):
    """RFC 9457 problem details; ``type`` is ``https://marac-hub.org/problems/<code>``
    for one of the hub's stable codes (``hub.protocol.errors.ErrorCode``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class OpenApiDocument(_Out):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: JsonObject
    paths: JsonObject


class PoleSchema(_Out):
    """A JSON Schema (draft 2020-12) document."""

    model_config = ConfigDict(extra="allow", title="PoleSchema")


# -- the agency client's routes ------------------------------------------------------


class SignedAnnouncement(BaseModel):
    """A key announcement signed by the agency's (or hub's) identity key:
    ``{"announcement": <key_announcement payload>, "signature": base64url}``
    (docs/protocol.md)."""

    announcement: JsonObject
    signature: str


class HubEncryption(_Out):
    """The hub's encryption key, announced by its identity key."""

    suite: str
    key: str
    fingerprint: str
    announcement: SignedAnnouncement


class HubInfo(_Out):
    """The hub's identity key (pinned at enrolment) and encryption key."""

    identity_key: str
    fingerprint: str
    version: str
    hub_id: str
    encryption: HubEncryption


class EnrolmentBody(_In):
    """An enrolment code and the agency's signed first key."""

    code: Annotated[str, Field(max_length=200, description="<agency id>:<secret>")]
    announcement: SignedAnnouncement


class HubKey(_Out):
    """The hub's identity key."""

    identity_key: str
    fingerprint: str


class Enrolled(_Out):
    """The enrolled agency, pending approval."""

    agency_id: str
    status: str
    identity_fingerprint: str
    encryption_fingerprint: str
    hub: HubKey


class MailboxQuery(_Query):
    """How long to wait, how many envelopes, how long to lease them."""

    wait: Annotated[float, Field(ge=0, description="seconds to wait for one (capped)")] = 0
    limit: Annotated[int, Field(ge=1, description="at most this many (capped)")] = 100
    lease: Annotated[float, Field(ge=0, description="seconds to lease them (capped at 600)")] = 0


class Envelopes(_Out):
    """Sealed envelopes (docs/protocol.md), oldest first."""

    envelopes: list[JsonObject]


class SignedReceipt(BaseModel):
    """A receipt payload and the agency identity key's signature over it."""

    receipt: JsonObject
    signature: str


class ReceiptsBody(_In):
    """A batch of signed receipts, stored all or nothing."""

    receipts: Annotated[list[SignedReceipt], Field(min_length=1, max_length=1000)]


class Acknowledged(_Out):
    """Envelope ids acknowledged now, and those already acknowledged."""

    acknowledged: list[str]
    already: list[str]


class KeyRegistered(_Out):
    """The new encryption key's fingerprint."""

    fingerprint: str


class MessageBody(_In):
    """An envelope sealed to the hub (a research response or an action update)."""

    envelope: JsonObject


class MessageReceived(_Out):
    """What became of the envelope (``result`` only when handled now)."""

    envelope_id: str
    type: str
    already: bool
    result: JsonObject | None = None


# -- agencies, users, alerts ---------------------------------------------------------


class AgencyOut(_Out):
    """An agency, its status and key fingerprints."""

    id: str
    name: str
    kind: str
    status: str
    areas: list[str]
    isp_version: str
    isp_signed_by: str
    isp_signed_on: date
    identity_fingerprint: str | None
    encryption_fingerprint: str | None


class AgencyList(_Out):
    """Agencies."""

    agencies: list[AgencyOut]


class Invitation(_In):
    """An agency to invite, the ISP version it signed, and the areas it serves."""

    id: str
    name: str
    kind: str
    isp_version: str
    isp_signed_by: str
    isp_signed_on: Annotated[str, Field(description="YYYY-MM-DD")]
    areas: list[str] = []


class Invited(_Out):
    """The invited agency and its one-time enrolment code."""

    agency_id: str
    enrolment_code: str


class Approval(_In):
    """The identity fingerprint the agency read out."""

    identity_fingerprint: str


class AgencyStatus(_Out):
    """An agency's new status."""

    agency_id: str
    status: str


class Alert(_Out):
    """An open alert."""

    id: int
    kind: str
    agency_id: str | None
    envelope_id: str | None
    created_at: Timestamp


class AlertList(_Out):
    """Open alerts."""

    alerts: list[Alert]


class UserOut(_Out):
    """A member of staff."""

    name: str
    role: str
    created_at: Timestamp
    revoked: bool


class UserList(_Out):
    """Staff."""

    users: list[UserOut]


class NewUserBody(_In):
    """A member of staff to add."""

    name: str
    role: str


class NewUser(_Out):
    """The new member of staff and their token (shown once)."""

    name: str
    role: str
    token: str


class UserRevoked(_Out):
    """A revoked member of staff."""

    name: str
    revoked: bool


class NewTokenBody(_In):
    """An API token to make: it expires in ``expires_in_days`` (default 90, at most 366)
    or at the start of ``expires_on`` (UTC), and may be narrowed to a ``role`` at most the
    user's and, for a coordinator's token, to some of their ``areas``."""

    expires_in_days: int | None = Field(default=None, ge=1, le=366)
    expires_on: date | None = None
    role: str | None = None
    areas: list[str] | None = None
    label: str | None = Field(default=None, max_length=64)


class NewToken(_Out):
    """The new token (its secret shown once), its id and when it expires."""

    user: str
    id: str
    token: str
    expires_at: Timestamp


class TokenOut(_Out):
    """An API token as listed: never its secret. ``role`` and ``areas`` null: the user's."""

    id: str
    prefix: str
    user: str
    label: str | None
    role: str | None
    areas: list[str] | None
    created_at: Timestamp
    created_by: str
    expires_at: Timestamp
    last_used_at: Timestamp | None
    state: Literal["active", "expired", "revoked"]


class TokenList(_Out):
    """A member of staff's API tokens."""

    tokens: list[TokenOut]


class TokensRevoked(_Out):
    """How many of a member of staff's tokens were revoked."""

    user: str
    revoked: int


# -- lawful bases, the ISP, the policy -----------------------------------------------


class BasesQuery(_Query):
    """``all=1``: retired bases too; ``id``: every version of one basis."""

    all: Literal["0", "1"] | None = None
    id: str | None = None


class BasisBody(_In):
    """A lawful basis (or a new version of one); see docs/policy.md."""

    id: str
    title: str
    art6: str
    art9: str | None = None
    art10: str | None = None
    dpa_schedule1: str | None = None
    gateway: str | None = None
    purposes: list[str]
    data_categories: list[str]


class Basis(_Out):
    """One version of a lawful basis."""

    id: str
    version: int
    title: str
    art6: str
    art9: str | None
    art10: str | None
    dpa_schedule1: str | None
    gateway: str | None
    purposes: list[str]
    data_categories: list[str]
    created_at: Timestamp
    created_by: str
    retired_at: Timestamp | None
    retired_by: str | None


class BasisList(_Out):
    """Lawful bases."""

    bases: list[Basis]


class Retired(_Out):
    """How many versions of the basis were retired."""

    id: str
    retired_versions: int


class IspVersion(_Out):
    """A published ISP version."""

    version: str
    title: str
    document_sha256: str | None
    published_at: Timestamp
    published_by: str


class IspAgency(_Out):
    """An agency's latest ISP signature."""

    id: str
    kind: str
    status: str
    signed_version: str
    signed_on: date
    current: bool


class IspOverview(_Out):
    """The current ISP, every version, and each agency's signature."""

    current: IspVersion | None
    versions: list[IspVersion]
    agencies: list[IspAgency]


class IspBody(_In):
    """A new ISP version."""

    version: str
    title: str
    document_sha256: str | None = None


class IspSignatureBody(_In):
    """An agency's signature of an ISP version (``signed_on`` YYYY-MM-DD, default today)."""

    version: str
    signed_by: str
    signed_on: str | None = None


class IspSigned(_Out):
    """The recorded signature."""

    agency_id: str
    version: str
    signed_on: date


class PolicyRule(_Out):
    """One rule of the disclosure policy."""

    number: int
    purpose: str
    kinds: list[str]
    fields: list[str]
    restricted_fields: list[str]
    basis: str
    decision: str
    owner_fields: list[str] | None = None


class WitnessPolicy(_Out):
    """The log's witness quorum (the policy's ``[witness]`` table)."""

    quorum: int
    distinct_kinds: int
    grace_minutes: int


class PolicyDocument(_Out):
    """The disclosure policy in force."""

    version: str
    source: str
    rules: list[PolicyRule]
    witness: WitnessPolicy


class ExplainQuery(_Query):
    """A purpose, an agency kind, and whether the perpetrator must not know."""

    purpose: str
    kind: str
    restricted: Literal["0", "1", "true", "false"] = "0"


class Explanation(_Out):
    """Field by field, what the purpose carries to the kind and why (docs/policy.md)."""

    model_config = ConfigDict(extra="allow")


# -- areas and cases -----------------------------------------------------------------


class AreaOut(_Out):
    """An area and its rules."""

    id: str
    name: str
    target_days: int
    escalation_callouts: int
    retention_years: int
    four_eyes: bool


class AreaList(_Out):
    """Areas."""

    areas: list[AreaOut]


class AreaBody(_In):
    """A new area (rules default to 42 days, 3 call-outs, 6 years)."""

    id: str
    name: str
    target_days: int | None = None
    escalation_callouts: int | None = None
    retention_years: int | None = None


class MemberAgencyBody(_In):
    """An agency to serve the area."""

    agency: str


class MemberAgency(_Out):
    """The area and the agency now serving it."""

    area: str
    agency: str


class MemberUserBody(_In):
    """A coordinator to work in the area."""

    user: str


class MemberUser(_Out):
    """The area and the coordinator now working in it."""

    area: str
    user: str


class Referral(_In):
    """A referral into an area; ``referral`` is the form of docs/referrals.md."""

    area: str
    referral: JsonObject


class Referred(_Out):
    """The new case."""

    case_ref: str
    is_repeat: bool
    previous_ref: str | None
    yes_count: int
    level: str


class CasesQuery(_Query):
    """An area, and optionally a status."""

    area: str
    status: str | None = None


class CaseSummary(_Out):
    """A case as a list shows it: nothing about any person."""

    ref: str
    area: str
    status: str
    referred_on: date
    heard_on: date | None
    criterion: str
    is_repeat: bool
    previous_ref: str | None
    level: str
    yes_count: int
    has_children: bool
    children_count: int
    perpetrator_must_not_know: bool
    legal_hold: bool
    destroyed: bool


class CaseList(_Out):
    """An area's cases, children's first."""

    cases: list[CaseSummary]


class CaseOut(_Out):
    """One case, decrypted; ``view`` is shaped like the ``case_extract`` message."""

    ref: str
    area: str
    status: str
    referred_on: date
    heard_on: date | None
    criteria: list[str]
    is_repeat: bool
    previous_ref: str | None
    legal_hold: bool
    view: JsonObject


# -- disclosures ---------------------------------------------------------------------


class ExtractBody(_In):
    """The recipient, and an override's fields and written justification."""

    agency_id: str
    widen: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=100)
    ] = []
    justification: str | None = None
    summary: str | None = None


class ExtractOutcome(_Out):
    """``sent`` (its envelope), ``held`` for review (its id) or ``refused`` (its code)."""

    status: Literal["sent", "held", "refused"]
    agency_id: str
    envelope_id: str | None = None
    held_id: str | None = None
    code: str | None = None


class HeldQuery(_Query):
    """``status=all``: decided disclosures too."""

    status: str | None = None


class Held(_Out):
    """A disclosure held for review (no content)."""

    id: str
    agency_id: str
    purpose: str
    case_refs: list[str]
    meeting_id: str | None
    override_id: str | None
    status: str
    requested_by: str
    created_at: Timestamp
    resolved_by: str | None
    resolved_at: Timestamp | None
    envelope_id: str | None
    areas: list[str]


class HeldList(_Out):
    """Held disclosures."""

    held: list[Held]


class HeldDecision(_Out):
    """The decision on a held disclosure (approved: what was sent)."""

    id: str
    status: str
    agency_id: str | None = None
    envelope_id: str | None = None
    held_id: str | None = None
    code: str | None = None


class FourEyesBody(_In):
    """Four eyes on or off."""

    on: bool


class FourEyes(_Out):
    """The area's four-eyes setting."""

    area: str
    four_eyes: bool


class NoticeBody(_In):
    """A free-text notice to one agency or ``all``."""

    to: str
    text: str
    case_ref: str | None = None


class NoticeSent(_Out):
    """One sealed notice."""

    id: str
    to: str


class NoticesSent(_Out):
    """The notices sealed."""

    envelopes: list[NoticeSent]


class DeliveryBody(_In):
    """A transport, a format, and the transport's settings (docs/adapters.md)."""

    transport: Annotated[str, Field(min_length=1, max_length=64)]
    format: Annotated[str, Field(min_length=1, max_length=64)]
    config: JsonObject = {}


class Delivery(_Out):
    """An agency's delivery (secrets shown as ``***``)."""

    agency_id: str
    transport: str
    format: str
    config: JsonObject


# -- meetings and actions ------------------------------------------------------------


class MeetingBody(_In):
    """A meeting to schedule (``date`` YYYY-MM-DD)."""

    area: str
    date: str
    location: str | None = None


Day = date  # for a model whose own field is named ``date``


class MeetingOut(_Out):
    """A meeting."""

    id: str
    area: str
    date: date
    location: str | None
    target_days: int
    published_at: Timestamp | None
    minutes_at: Timestamp | None
    cancelled_at: Timestamp | None = None  # a cancelled meeting is neither published nor minuted
    moved_from: Day | None = None  # the date before the latest move


class MeetingsQuery(_Query):
    """The area."""

    area: str


class MeetingList(_Out):
    """An area's meetings, newest first."""

    meetings: list[MeetingOut]


class Listed(_Out):
    """A case as a meeting list shows it: pseudonymous facts and its clock."""

    case_ref: str
    position: int | None
    on_agenda: bool
    referred_on: date
    has_children: bool
    is_repeat: bool
    level: str
    perpetrator_must_not_know: bool
    days_to_meeting: int
    target_days: int
    days_left: int
    breached: bool


class MeetingView(MeetingOut):
    """A meeting with its agenda and attendance (agency id: attended or apologies)."""

    agenda: list[Listed]
    attendance: dict[str, str]


class MeetingCandidates(_Out):
    """The area's referred cases not yet heard."""

    meeting_id: str
    cases: list[Listed]


class CaseRefBody(_In):
    """A case to put on the agenda."""

    case_ref: str


class AttendanceBody(_In):
    """An agency's attendance."""

    agency: str
    status: str


class PublishBody(_In):
    """When research is due (YYYY-MM-DD; default from the area's rules)."""

    respond_by: str | None = None


class SendResult(_Out):
    """What one disclosure did: ``disclosed`` (envelope id), ``held`` (held id) or
    ``refused`` (code and reason)."""

    agency: str
    outcome: str
    reference: str | None = None
    code: str | None = None
    reason: str | None = None


class AgendaSent(SendResult):
    """An agenda's outcome and the cases on it."""

    cases: list[str]


class RequestSent(SendResult):
    """A research request's outcome and its case."""

    case_ref: str


class Published(_Out):
    """What the publication sent."""

    meeting_id: str
    respond_by: date
    agendas: list[AgendaSent]
    research_requests: list[RequestSent]


class Research(_Out):
    """The research per agenda case: facts, opinions, withheld, who has not responded."""

    model_config = ConfigDict(extra="allow")

    cases: list[JsonObject]


class MinutesItem(_In):
    """One case's discussion."""

    case_ref: str
    discussion: str


class MinutesBody(_In):
    """The minutes, one item a case."""

    items: list[MinutesItem]


class MinutesSent(_Out):
    """The minutes' outcome per agency."""

    minutes: list[SendResult]


class ActionBody(_In):
    """An action (``due_date`` YYYY-MM-DD)."""

    meeting: str
    case_ref: str
    owner: str
    description: str
    due_date: str


class ActionOut(_Out):
    """An action."""

    id: str
    meeting_id: str
    area: str
    case_ref: str
    owner: str
    description: str | None
    due_date: date
    status: str
    reason: str | None
    overdue: bool
    updated_at: Timestamp
    last_chased_on: date | None


class ActionCreated(_Out):
    """The action and the notice sent to its owner."""

    action: ActionOut
    notice: SendResult


class ActionsQuery(_Query):
    """Filters."""

    area: str | None = None
    agency: str | None = None
    status: str | None = None
    overdue: Literal["true", "false"] | None = None


class ActionList(_Out):
    """Actions."""

    actions: list[ActionOut]


class ActionEvent(_Out):
    """One update of an action."""

    status: str
    by: str
    at: Timestamp
    note: str | None
    reason: str | None


class ActionShown(_Out):
    """An action and its every update, oldest first."""

    action: ActionOut
    history: list[ActionEvent]


class ActionUpdateBody(_In):
    """A new status, with a note or (not completed) a reason."""

    status: str
    note: str | None = None
    reason: str | None = None


class ActionUpdated(_Out):
    """The updated action."""

    action: ActionOut


class ChasedAction(SendResult):
    """A chased action and its reminder's outcome."""

    action_id: str


class Chased(_Out):
    """The actions chased now."""

    chased: list[ChasedAction]


# -- the log -------------------------------------------------------------------------


class TreeHead(_Out):
    """A signed tree head (RFC 9162 style): size, root, time, the hub's signature."""

    log: str
    size: int
    root: str
    timestamp: str
    signature: str


class CosignatureBody(_In):
    """A checkpoint the hub signed, with the agency's cosignature line appended
    (C2SP tlog-cosignature, key name ``<agency id>.witness.<origin>``)."""

    checkpoint: str


class CosignatureStored(_Out):
    """The cosignature was checked; ``stored`` is false if it was already stored."""

    size: int
    witness: str
    stored: bool


class WitnessAlarmBody(_In):
    """A checkpoint the agency refused to cosign, and the last one it cosigned."""

    problem: Literal["inconsistent", "smaller", "same-size-other-root", "bad-proof"]
    cosigned: str
    offered: str


class WitnessAlarmStored(_Out):
    """The alarm's id."""

    id: int


class WitnessInfo(_Out):
    """One agency as a witness."""

    agency_id: str
    kind: str
    status: str
    last_size: int | None
    last_cosigned_at: str | None


class WitnessAlarmInfo(_Out):
    """A witness's fork alarm."""

    id: int
    agency_id: str
    problem: str
    cosigned_size: int
    offered_size: int
    reported_at: str


class Witnesses(_Out):
    """The log's witnesses, the quorum rule and the alarms."""

    origin: str
    quorum: WitnessPolicy
    newest_size: int | None
    newest_cosigners: list[str]
    newest_has_quorum: bool
    witnessed_size: int | None
    witnesses: list[WitnessInfo]
    alarms: list[WitnessAlarmInfo]


class InclusionQuery(_Query):
    """Exactly one of ``envelope_id`` and ``index`` (staff only)."""

    envelope_id: str | None = None
    index: Annotated[int, Field(ge=0)] | None = None


class InclusionProof(_Out):
    """An entry (base64url of its canonical JSON) and its inclusion proof."""

    index: int
    entry: str
    head: TreeHead
    proof: list[str]


class EvidenceBody(_In):
    """The entries an evidence bundle proves: indices (digits) or envelope ids."""

    entries: list[Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")]] = Field(
        min_length=1, max_length=1000
    )


class EvidenceBundle(_Out):
    """An evidence bundle (docs/dpo.md): RFC 8785 canonical JSON, signed by the hub; save
    the body as it is and check it with ``agency-client log verify-evidence``."""

    manifest: JsonObject
    checkpoint: str  # the C2SP checkpoint note with its cosignatures
    entries: list[JsonObject]
    hub_key: JsonObject
    witnesses: list[JsonObject]
    signature: str


class ConsistencyQuery(_Query):
    """Two signed tree sizes."""

    from_: Annotated[int, Field(ge=0, alias="from")]
    to: Annotated[int, Field(ge=0)]


class Consistency(_Out):
    """The consistency proof between two sizes."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Annotated[int, Field(alias="from")]
    to: int
    proof: list[str]


class KeyEntry(_Out):
    """A key entry and its inclusion proof."""

    index: int
    entry: str
    proof: list[str]


class KeyEntries(_Out):
    """The calling agency's key entries."""

    head: TreeHead
    entries: list[KeyEntry]


class _Filters(_Query):
    """Log search filters (text, dates or RFC 3339 times, true/false)."""

    case: str | None = None
    agency: str | None = None
    purpose: str | None = None
    basis: str | None = None
    category: str | None = None
    subject: str | None = None
    kind: str | None = None
    actor: str | None = None
    since: str | None = None
    until: str | None = None
    overrides: Literal["true", "false"] | None = None
    refusals: Literal["true", "false"] | None = None


class EntriesQuery(_Filters):
    """Filters and a page."""

    offset: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class ExportQuery(_Filters):
    """Filters and a format."""

    format: Literal["csv", "jsonl"] = "jsonl"


class FoundEntry(_Out):
    """A log entry (docs/dpo.md) at its index."""

    index: int
    entry: JsonObject


class LogPage(_Out):
    """A page of matching entries, as of the newest signed head."""

    head: TreeHead
    offset: int
    limit: int
    entries: list[FoundEntry]


class Verified(_Out):
    """Whether the stored log verifies (``ok``), and what it covered or where it fails."""

    ok: bool
    size: int | None = None
    nodes: int | None = None
    heads: int | None = None
    head: TreeHead | int | None = Field(
        default=None, description="the newest head; on failure, the id of the head at fault"
    )
    witnessed: int | None = Field(
        default=None, description="the largest checkpoint a quorum of witnesses cosigned"
    )
    witnesses: list[str] | None = Field(
        default=None, description="the agencies whose cosignatures made that quorum"
    )
    error: str | None = None
    index: int | None = None
