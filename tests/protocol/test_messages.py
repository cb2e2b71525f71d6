"""Typed MARAC messages: realistic examples, immutability, strictness and privacy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.protocol import (
    MESSAGE_TYPES,
    Message,
    ProtocolError,
    canonical_json,
    parse_message,
    payload_of,
    problem,
)
from hub.protocol.messages import (
    MAX_ITEMS,
    ActionNotice,
    ActionSummary,
    ActionUpdate,
    Agenda,
    AgendaItem,
    BasisRef,
    CaseExtract,
    KeyAnnouncement,
    Minutes,
    MinutesItem,
    Notice,
    PersonDetails,
    Receipt,
    ReferralInfo,
    Rendered,
    ResearchItem,
    ResearchRequest,
    ResearchResponse,
    RiskSummary,
    SafeContact,
    WithheldItem,
)

SECRET = "Jane Victim-Secret"
MEETING = "01HZX3K8N5VQ2W7R9T4M6P1C0D"
REQUEST = "01HZX3M2B7C8D9E0F1G2H3J4K5"
ACTION = "01HZX3P4Q5R6S7T8V9W0X1Y2Z3"
ENVELOPE = "01HZX3Q0000000000000000000"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
BST = timezone(timedelta(hours=1))

# DASH: 16 of 24 ticked ("yes"), two not answered.
DASH_ANSWERS: tuple[bool | None, ...] = (
    (True,) * 8 + (False, None) + (True,) * 4 + (False,) * 3 + (None,) + (True,) * 4 + (False,) * 2
)
assert len(DASH_ANSWERS) == 24


def victim(**changes: Any) -> PersonDetails:
    fields: dict[str, Any] = {
        "subject_id": "S-7Q2M",
        "role": "victim",
        "name": "Amira Example",
        "other_names": ("Amira Khan",),
        "date_of_birth": date(1991, 3, 14),
        "gender": "female",
        "address": "Flat 3, 12 Example Road, London E1 7AA",
        "ethnicity": "Asian or Asian British: Pakistani",
    }
    fields.update(changes)
    return PersonDetails(**fields)


PERPETRATOR = PersonDetails(
    subject_id="S-9X4D",
    role="perpetrator",
    name="Daniel Example",
    date_of_birth=date(1988, 11, 2),
    gender="male",
    relationship_to_victim="ex-partner",
)
CHILDREN = (
    PersonDetails(
        subject_id="S-C1A",
        role="child",
        name="Leo Example",
        date_of_birth=date(2016, 6, 1),
        school="Example Primary School",
    ),
    PersonDetails(subject_id="S-C2B", role="child", date_of_birth=date(2021, 1, 20)),
)
CARRIED = ActionSummary(
    action_id=ACTION,
    case_ref="MARAC-2024-0098",
    owner_agency="lbtw-housing",
    description="Fit additional locks and a door alarm at the victim's address.",
    due_date=date(2024, 5, 10),
    status="in_progress",
)
SAFE_CONTACT = SafeContact(
    safe_to_contact=True,
    phone="07700 900123",
    times="weekdays 10:00-14:00 while the perpetrator is at work",
    notes="Do not leave voicemail. Ask for 'Amy'.",
)

EXAMPLES: dict[str, Message] = {
    "agenda": Agenda(
        meeting_id=MEETING,
        area="Tower Hamlets",
        meeting_date=date(2024, 5, 16),
        location="Online (Teams)",
        items=(
            AgendaItem(
                case_ref="MARAC-2024-0117",
                position=1,
                victim=victim(),
                perpetrator=PERPETRATOR,
                children=CHILDREN,
                has_children=True,
                is_repeat=False,
            ),
            AgendaItem(
                case_ref="MARAC-2024-0098",
                position=2,
                victim=victim(subject_id="S-2B", name="Bea Sample", other_names=None),
                has_children=False,
                is_repeat=True,
            ),
        ),
        carried_forward=(CARRIED,),
    ),
    "case_extract": CaseExtract(
        case_ref="MARAC-2024-0117",
        meeting_id=MEETING,
        purpose="marac_research",
        policy_version="2024.2",
        lawful_basis=BasisRef(id="uk-gdpr-6-1-e-dpa-s8", version=3),
        victim=victim(),
        perpetrator=PERPETRATOR,
        children=CHILDREN,
        risk=RiskSummary(tool="DASH", yes_count=16, level="high", answers=DASH_ANSWERS),
        referral=ReferralInfo(
            criterion="visible_high_risk",
            referring_agency="met-police",
            referred_on=date(2024, 4, 22),
            consent="sought_refused",
            consent_exception="Risk of serious harm: sharing is necessary and proportionate.",
        ),
        safe_contact=SAFE_CONTACT,
        perpetrator_must_not_know=True,
        actions=(CARRIED,),
        summary="Strangulation reported 20 April; victim pregnant; perpetrator released on bail.",
    ),
    "research_request": ResearchRequest(
        request_id=REQUEST,
        case_ref="MARAC-2024-0117",
        meeting_id=MEETING,
        respond_by=date(2024, 5, 14),
        subjects=(victim(), PERPETRATOR, *CHILDREN),
        questions="Any A&E attendances or missed antenatal appointments since January?",
    ),
    "research_response": ResearchResponse(
        request_id=REQUEST,
        case_ref="MARAC-2024-0117",
        agency_id="barts-health",
        responded_at=datetime(2024, 5, 13, 16, 5, tzinfo=BST),
        nothing_known=False,
        items=(
            ResearchItem(
                text="A&E attendance with a wrist fracture, explained as a fall.",
                kind="fact",
                recorded_on=date(2024, 2, 3),
            ),
            ResearchItem(
                text="Midwife believes the injuries are not consistent with the account given.",
                kind="opinion",
            ),
        ),
        withheld=(
            WithheldItem(
                description="Sexual health clinic records",
                reason="Not relevant to the risk; disclosure would not be proportionate.",
            ),
        ),
    ),
    "action_notice": ActionNotice(
        action=ActionSummary(
            action_id=ACTION,
            case_ref="MARAC-2024-0117",
            owner_agency="met-police",
            description="Flag the victim's address for an urgent response (treat as priority).",
            due_date=date(2024, 5, 17),
            status="open",
        ),
        meeting_id=MEETING,
        victim=victim(),
        safe_contact=SAFE_CONTACT,
        perpetrator_must_not_know=True,
    ),
    "action_update": ActionUpdate(
        action_id=ACTION,
        case_ref="MARAC-2024-0117",
        status="completed",
        updated_at=datetime(2024, 5, 17, 8, 45, tzinfo=UTC),
        note="Address flagged on CAD; markers reviewed by the duty inspector.",
    ),
    "receipt": Receipt(
        envelope_id=ENVELOPE,
        envelope_sha256=SHA,
        agency_id="met-police",
        received_at=datetime(2024, 5, 1, 9, 31, 2, 500000, tzinfo=UTC),
    ),
    "key_announcement": KeyAnnouncement(
        party="met-police",
        identity_key="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        encryption_key="hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo",
        suite="hpke-x25519-sha256-chacha20poly1305",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        expires_at=datetime(2024, 5, 8, tzinfo=UTC),
    ),
    "minutes": Minutes(
        meeting_id=MEETING,
        area="Tower Hamlets",
        meeting_date=date(2024, 5, 16),
        attended=("met-police", "idva-service"),
        apologies=("housing",),
        items=(
            MinutesItem(
                case_ref="MARAC-2024-0117",
                victim=victim(),
                discussion="Target hardening agreed; IDVA to keep weekly contact.",
                actions=(CARRIED,),
            ),
        ),
    ),
    "notice": Notice(text="The May MARAC moves to Thursday 16 May, 09:30, same Teams link."),
    "rendered": Rendered(
        format="fhir-r4",
        original_type="case_extract",
        document={"resourceType": "Bundle", "type": "collection", "entry": []},
    ),
}


def payload(message_type: str) -> dict[str, Any]:
    return payload_of(EXAMPLES[message_type])


def invalid(message_type: str, data: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_message(message_type, data)
    assert info.value.code == "invalid-message", info.value.diagnostics()
    return info.value


def assert_does_not_leak(error: ProtocolError, *secrets: str) -> None:
    rendered = [str(error), error.message, error.diagnostics(), json.dumps(problem(error))]
    for secret in secrets:
        for text in rendered:
            assert secret not in text


# --- every message type ------------------------------------------------------------


def test_every_message_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("message_type", sorted(MESSAGE_TYPES))
def test_registry_matches_class(message_type: str) -> None:
    cls = MESSAGE_TYPES[message_type]
    assert issubclass(cls, Message)
    assert cls.message_type == message_type
    assert type(EXAMPLES[message_type]) is cls


@pytest.mark.parametrize("message_type", sorted(MESSAGE_TYPES))
def test_payload_round_trips_through_parse_message(message_type: str) -> None:
    message = EXAMPLES[message_type]
    data = payload_of(message)
    parsed = parse_message(message_type, data)
    assert parsed == message
    assert type(parsed) is type(message)
    assert payload_of(parsed) == data


@pytest.mark.parametrize("message_type", sorted(MESSAGE_TYPES))
def test_payload_round_trips_through_canonical_json(message_type: str) -> None:
    message = EXAMPLES[message_type]
    wire = canonical_json(payload_of(message))
    parsed = parse_message(message_type, json.loads(wire))
    assert parsed == message
    assert canonical_json(payload_of(parsed)) == wire


def _contains_none(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_contains_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_none(v) for v in value)
    return False


@pytest.mark.parametrize("message_type", sorted(set(MESSAGE_TYPES) - {"case_extract"}))
def test_payload_has_no_nulls(message_type: str) -> None:
    assert not _contains_none(payload(message_type))


def test_payload_drops_unset_fields() -> None:
    child = CHILDREN[1]
    assert payload_of(Notice(text="x")) == {"text": "x"}
    item = AgendaItem(
        case_ref="M-1", position=1, children=(child,), has_children=True, is_repeat=False
    )
    agenda = Agenda(meeting_id=MEETING, area="Camden", meeting_date=date(2024, 6, 1), items=(item,))
    data = payload_of(agenda)
    assert "location" not in data
    assert data["carried_forward"] == []
    assert data["items"] == [
        {
            "case_ref": "M-1",
            "position": 1,
            "children": [{"subject_id": "S-C2B", "role": "child", "date_of_birth": "2021-01-20"}],
            "has_children": True,
            "is_repeat": False,
        }
    ]


def test_payload_drops_explicit_none_too() -> None:
    update = ActionUpdate(
        action_id=ACTION,
        case_ref="M-1",
        status="open",
        updated_at=datetime(2024, 5, 1, tzinfo=UTC),
        note=None,
        reason=None,
    )
    assert set(payload_of(update)) == {"action_id", "case_ref", "status", "updated_at"}


def test_unanswered_risk_questions_keep_their_position() -> None:
    data = payload("case_extract")
    answers = data["risk"]["answers"]
    assert len(answers) == 24
    assert answers == list(DASH_ANSWERS)
    assert answers.count(None) == 2
    assert answers.count(True) == data["risk"]["yes_count"] == 16


def test_projection_omits_what_was_not_disclosed() -> None:
    extract = CaseExtract(
        case_ref="MARAC-2024-0117",
        purpose="action_notice",
        policy_version="2024.2",
        lawful_basis=BasisRef(id="uk-gdpr-6-1-e-dpa-s8", version=3),
        victim=PersonDetails(subject_id="S-7Q2M", role="victim"),
    )
    data = payload_of(extract)
    assert data["victim"] == {"subject_id": "S-7Q2M", "role": "victim"}
    for absent in ("perpetrator", "children", "risk", "safe_contact", "summary", "meeting_id"):
        assert absent not in data
    assert parse_message("case_extract", data) == extract


def test_json_types_in_payload() -> None:
    data = payload("research_response")
    assert data["responded_at"] == "2024-05-13T16:05:00+01:00"
    assert data["items"][0]["recorded_on"] == "2024-02-03"
    assert data["items"][1]["kind"] == "opinion"
    assert data["withheld"][0]["reason"].startswith("Not relevant")
    receipt = payload("receipt")
    assert receipt["received_at"] == "2024-05-01T09:31:02.500000Z"


def test_agenda_example_lists_childrens_cases_first() -> None:
    agenda = EXAMPLES["agenda"]
    assert isinstance(agenda, Agenda)
    flags = [item.has_children for item in sorted(agenda.items, key=lambda i: i.position)]
    assert flags == sorted(flags, reverse=True)
    first = agenda.items[0]
    assert first.children is not None
    assert all(child.role == "child" for child in first.children)


def test_research_response_nothing_known() -> None:
    response = ResearchResponse(
        request_id=REQUEST,
        case_ref="MARAC-2024-0117",
        agency_id="lbtw-education",
        responded_at=datetime(2024, 5, 13, 9, tzinfo=UTC),
        nothing_known=True,
    )
    assert payload_of(response)["items"] == []
    # Withholding is still allowed (and recorded) when nothing can be shared.
    withheld = WithheldItem(description="Safeguarding file", reason="Subject to a court order.")
    response = response.model_copy(update={"withheld": (withheld,)})
    assert parse_message("research_response", payload_of(response)) == response


@pytest.mark.parametrize("status", ["open", "in_progress", "completed"])
def test_action_update_without_reason(status: str) -> None:
    data = {**payload("action_update"), "status": status}
    assert parse_message("action_update", data).status == status  # type: ignore[attr-defined]


def test_cancelled_action_with_reason() -> None:
    data = {
        **payload("action_update"),
        "status": "cancelled",
        "reason": "Victim moved out of area; case transferred to Hackney MARAC.",
    }
    assert parse_message("action_update", data).status == "cancelled"  # type: ignore[attr-defined]


# --- immutability and strictness ----------------------------------------------------


@pytest.mark.parametrize("message_type", sorted(MESSAGE_TYPES))
def test_models_are_frozen(message_type: str) -> None:
    message = EXAMPLES[message_type]
    field = next(iter(type(message).model_fields))
    with pytest.raises(ValidationError):
        setattr(message, field, getattr(message, field))


def test_nested_models_are_frozen() -> None:
    extract = EXAMPLES["case_extract"]
    assert isinstance(extract, CaseExtract)
    assert extract.victim is not None
    assert extract.risk is not None
    with pytest.raises(ValidationError):
        extract.victim.name = "someone else"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        extract.risk.yes_count = 0  # type: ignore[misc]
    assert isinstance(extract.children, tuple)
    assert isinstance(extract.risk.answers, tuple)


def test_models_are_hashable_values() -> None:
    assert hash(EXAMPLES["notice"]) == hash(Notice(text=EXAMPLES["notice"].text))  # type: ignore[attr-defined]


@pytest.mark.parametrize("message_type", sorted(MESSAGE_TYPES))
def test_extra_fields_forbidden(message_type: str) -> None:
    invalid(message_type, {**payload(message_type), "message_type": message_type})
    invalid(message_type, {**payload(message_type), "comment": "x"})
    with pytest.raises(ValidationError):
        MESSAGE_TYPES[message_type](**payload(message_type), unexpected=1)


@pytest.mark.parametrize(
    ("message_type", "path"),
    [
        ("agenda", ("items", 0, "victim")),
        ("agenda", ("items", 0)),
        ("agenda", ("carried_forward", 0)),
        ("case_extract", ("risk",)),
        ("case_extract", ("referral",)),
        ("case_extract", ("safe_contact",)),
        ("case_extract", ("lawful_basis",)),
        ("research_response", ("items", 1)),
        ("research_response", ("withheld", 0)),
        ("action_notice", ("action",)),
    ],
)
def test_extra_fields_forbidden_in_nested_models(
    message_type: str, path: tuple[str | int, ...]
) -> None:
    data = payload(message_type)
    target: Any = data
    for step in path:
        target = target[step]
    target["notes_for_coordinator"] = "x"
    error = invalid(message_type, data)
    assert "notes_for_coordinator" not in str(error)


@pytest.mark.parametrize("message_type", sorted(MESSAGE_TYPES))
def test_missing_required_field(message_type: str) -> None:
    cls = MESSAGE_TYPES[message_type]
    required = [name for name, field in cls.model_fields.items() if field.is_required()]
    assert required
    for name in required:
        data = payload(message_type)
        del data[name]
        error = invalid(message_type, data)
        assert name in str(error)
        assert "missing" in str(error)


@pytest.mark.parametrize("data", [None, [], "notice", 1, [["text", "x"]]])
def test_payload_not_an_object(data: object) -> None:
    invalid("notice", data)


@pytest.mark.parametrize("message_type", ["", "minute", "Agenda", "agenda ", "Message"])
def test_parse_message_unknown_type(message_type: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message(message_type, {"text": "x"})
    assert info.value.code == "unknown-type"


# --- privacy of errors --------------------------------------------------------------


def _agenda_with_victim(**victim_changes: Any) -> dict[str, Any]:
    data = payload("agenda")
    data["items"][0]["victim"].update(victim_changes)
    return data


@pytest.mark.parametrize(
    "data",
    [
        _agenda_with_victim(name=SECRET, date_of_birth="not a date"),
        _agenda_with_victim(name=SECRET * 12),  # longer than 200
        _agenda_with_victim(name=SECRET, role=SECRET),
        _agenda_with_victim(subject_id=SECRET),
        _agenda_with_victim(other_names=[SECRET, ""]),
        _agenda_with_victim(gender=[SECRET]),
        _agenda_with_victim(**{SECRET: "x"}),  # unknown key
        _agenda_with_victim(address={SECRET: SECRET}),
    ],
)
def test_errors_never_contain_input_values(data: dict[str, Any]) -> None:
    error = invalid("agenda", data)
    assert_does_not_leak(error, SECRET, "Victim-Secret")
    assert "items.0.victim" in error.message


def test_error_for_unknown_top_level_key_does_not_repeat_it() -> None:
    error = invalid("notice", {"text": "x", SECRET: 1})
    assert_does_not_leak(error, SECRET)
    assert "extra_forbidden" in error.message


def test_errors_in_free_text_do_not_leak() -> None:
    data = payload("research_response")
    data["nothing_known"] = True  # contradicts the items that name the victim
    data["items"][0]["text"] = f"{SECRET} attended A&E"
    assert_does_not_leak(invalid("research_response", data), SECRET)
    data = payload("action_update")
    data.update(status="cancelled", note=f"Spoke to {SECRET}")
    assert_does_not_leak(invalid("action_update", data), SECRET)
    assert_does_not_leak(invalid("notice", {"text": SECRET * 2000}), SECRET)


def test_error_lists_at_most_five_problems() -> None:
    data = payload("agenda")
    data["items"] = [{"case_ref": f"bad ref {i}"} for i in range(50)]
    error = invalid("agenda", data)
    assert error.message.count(";") <= 4
    assert "\n" not in error.diagnostics()


# --- domain rules -------------------------------------------------------------------


def test_cancelled_action_needs_a_reason() -> None:
    data = {**payload("action_update"), "status": "cancelled"}
    data.pop("reason", None)
    invalid("action_update", data)
    with pytest.raises(ValidationError):
        ActionUpdate(
            action_id=ACTION,
            case_ref="M-1",
            status="cancelled",
            updated_at=datetime(2024, 5, 1, tzinfo=UTC),
            note="No longer needed.",
        )


def test_research_response_cannot_know_nothing_and_return_items() -> None:
    data = {**payload("research_response"), "nothing_known": True}
    invalid("research_response", data)
    data["items"] = []
    assert parse_message("research_response", data).nothing_known is True  # type: ignore[attr-defined]


@pytest.mark.parametrize("count", [0, 1, 23, 25, 48])
def test_risk_answers_must_be_exactly_24(count: int) -> None:
    data = payload("case_extract")
    data["risk"]["answers"] = [True] * count
    data["risk"]["yes_count"] = min(count, 24)
    invalid("case_extract", data)


def test_risk_answers_may_be_absent() -> None:
    data = payload("case_extract")
    del data["risk"]["answers"]
    extract = parse_message("case_extract", data)
    assert isinstance(extract, CaseExtract)
    assert extract.risk is not None
    assert extract.risk.answers is None


@pytest.mark.parametrize("yes_count", [-1, 25, 100])
def test_yes_count_range(yes_count: int) -> None:
    data = payload("case_extract")
    data["risk"]["yes_count"] = yes_count
    invalid("case_extract", data)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("risk", "tool"), "SafeLives"),
        (("risk", "level"), "very high"),
        (("referral", "criterion"), "gut_feeling"),
        (("referral", "consent"), "yes"),
        (("victim", "role"), "witness"),
        (("lawful_basis", "version"), 0),
    ],
)
def test_closed_vocabularies(path: tuple[str, str], value: object) -> None:
    data = payload("case_extract")
    data[path[0]][path[1]] = value
    invalid("case_extract", data)


@pytest.mark.parametrize("status", ["done", "OPEN", "in progress", "closed", ""])
def test_action_status_vocabulary(status: str) -> None:
    invalid("action_update", {**payload("action_update"), "status": status})


def test_research_item_kind_is_fact_or_opinion() -> None:
    data = payload("research_response")
    data["items"][0]["kind"] = "rumour"
    invalid("research_response", data)


NAIVE = "2024-05-01T10:00:00"


@pytest.mark.parametrize(
    ("message_type", "field"),
    [
        ("research_response", "responded_at"),
        ("action_update", "updated_at"),
        ("receipt", "received_at"),
        ("key_announcement", "created_at"),
        ("key_announcement", "expires_at"),
    ],
)
def test_naive_datetimes_refused(message_type: str, field: str) -> None:
    invalid(message_type, {**payload(message_type), field: NAIVE})
    cls = MESSAGE_TYPES[message_type]
    values = {**payload(message_type), field: datetime(2024, 5, 1, 10)}
    with pytest.raises(ValidationError):
        cls(**values)


def test_aware_datetimes_keep_their_offset() -> None:
    data = {**payload("action_update"), "updated_at": "2024-05-17T09:45:00+01:00"}
    update = parse_message("action_update", data)
    assert isinstance(update, ActionUpdate)
    assert update.updated_at == datetime(2024, 5, 17, 8, 45, tzinfo=UTC)
    assert update.updated_at.utcoffset() == timedelta(hours=1)


def test_key_announcement_must_expire_after_creation() -> None:
    data = payload("key_announcement")
    invalid("key_announcement", {**data, "expires_at": data["created_at"]})
    invalid("key_announcement", {**data, "expires_at": "2024-04-30T23:59:59Z"})


@pytest.mark.parametrize(
    ("message_type", "field", "value"),
    [
        ("agenda", "meeting_id", MEETING.lower()),
        ("agenda", "meeting_id", "8" + MEETING[1:]),
        ("agenda", "meeting_id", MEETING + "\n"),
        ("agenda", "meeting_date", "16/05/2024"),
        ("agenda", "meeting_date", "2024-02-30"),
        ("case_extract", "case_ref", "MARAC 2024"),
        ("case_extract", "case_ref", "MARAC-2024\n"),
        ("case_extract", "case_ref", "A" * 41),
        ("receipt", "agency_id", "Met-Police"),
        ("receipt", "envelope_sha256", SHA.upper()),
        ("receipt", "envelope_sha256", "9f86d081"),
        ("key_announcement", "identity_key", "11qYAYKxCrfVS+7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
        ("key_announcement", "encryption_key", ""),
        ("key_announcement", "party", "met police"),
        ("research_request", "subjects", []),
    ],
)
def test_field_formats(message_type: str, field: str, value: object) -> None:
    invalid(message_type, {**payload(message_type), field: value})


# --- size limits --------------------------------------------------------------------


def test_text_limit() -> None:
    assert parse_message("notice", {"text": "x" * 20_000}) == Notice(text="x" * 20_000)
    invalid("notice", {"text": "x" * 20_001})
    invalid("notice", {"text": ""})


def test_name_limit() -> None:
    ok = _agenda_with_victim(name="N" * 200)
    assert isinstance(parse_message("agenda", ok), Agenda)
    invalid("agenda", _agenda_with_victim(name="N" * 201))
    invalid("agenda", _agenda_with_victim(name=""))


def test_short_limit() -> None:
    data = payload("agenda")
    assert isinstance(parse_message("agenda", {**data, "area": "A" * 100}), Agenda)
    invalid("agenda", {**data, "area": "A" * 101})


def test_other_names_limit() -> None:
    invalid("agenda", _agenda_with_victim(other_names=["Alias"] * 21))
    assert isinstance(parse_message("agenda", _agenda_with_victim(other_names=["A"] * 20)), Agenda)


def test_children_limit() -> None:
    data = payload("agenda")
    child = data["items"][0]["children"][0]
    data["items"][0]["children"] = [child] * 31
    invalid("agenda", data)
    data["items"][0]["children"] = [child] * 30
    assert isinstance(parse_message("agenda", data), Agenda)


def test_agenda_item_limits() -> None:
    data = payload("agenda")
    item = {"case_ref": "M-1", "position": 1, "has_children": False, "is_repeat": False}
    invalid("agenda", {**data, "items": [item] * (MAX_ITEMS + 1)})
    assert isinstance(parse_message("agenda", {**data, "items": [item] * MAX_ITEMS}), Agenda)
    for position in (0, MAX_ITEMS + 1):
        invalid("agenda", {**data, "items": [{**item, "position": position}]})


def test_research_limits() -> None:
    data = payload("research_response")
    item = data["items"][0]
    invalid("research_response", {**data, "items": [item] * (MAX_ITEMS + 1)})
    subjects = payload("research_request")["subjects"]
    invalid("research_request", {**payload("research_request"), "subjects": subjects * 11})


def test_key_limits() -> None:
    data = payload("key_announcement")
    invalid("key_announcement", {**data, "encryption_key": "A" * 2049})
    invalid("key_announcement", {**data, "identity_key": "A" * 4097})
    assert isinstance(
        parse_message("key_announcement", {**data, "encryption_key": "A" * 2048}), KeyAnnouncement
    )


# --- properties ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.sampled_from(sorted(MESSAGE_TYPES)), json_values)
def test_arbitrary_payload_parses_or_is_invalid(message_type: str, value: Any) -> None:
    try:
        message = parse_message(message_type, value)
    except ProtocolError as exc:
        assert exc.code == "invalid-message"
    else:
        assert parse_message(message_type, payload_of(message)) == message


@given(
    st.sampled_from(sorted(MESSAGE_TYPES)),
    st.data(),
)
def test_arbitrary_field_values_parse_or_are_invalid(
    message_type: str, data: st.DataObject
) -> None:
    fields = payload(message_type)
    key = data.draw(st.sampled_from(sorted(fields)))
    fields[key] = data.draw(json_values)
    try:
        message = parse_message(message_type, fields)
    except ProtocolError as exc:
        assert exc.code == "invalid-message"
        assert key in exc.message or "(payload)" in exc.message
    else:
        assert parse_message(message_type, payload_of(message)) == message


@given(st.text(min_size=1, max_size=200))
def test_any_text_round_trips(text: str) -> None:
    notice = Notice(text=text)
    assert parse_message("notice", payload_of(notice)) == notice
