"""Conformance tests for formats: output validates, renders only what the message carries,
refuses hostile and oversized documents, and names no value in its errors.

Subclass :class:`FormatConformance` and give it a ``fmt`` fixture returning your format::

    from hub.adapters.testing.formats import FormatConformance

    class TestMyFormat(FormatConformance):
        @pytest.fixture
        def fmt(self):
            return MyFormat()

The hub renders a message *after* the disclosure policy projected it, so a format that
renders from the message alone can only carry what the policy allowed: the kit checks
that nothing of a field absent from the message appears in the document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any, Final

import pytest

from hub.adapters.formats import Format, FormatError
from hub.protocol.canonical import canonical_json
from hub.protocol.messages import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_DEPTH,
    RENDERED_TYPES,
    ActionNotice,
    ActionSummary,
    Agenda,
    AgendaItem,
    BasisRef,
    CaseExtract,
    Message,
    Minutes,
    MinutesItem,
    Notice,
    PersonDetails,
    ReferralInfo,
    ResearchRequest,
    RiskSummary,
    SafeContact,
)

__all__ = ["CANARIES", "FormatConformance", "full_extract", "sample_messages", "without"]

MEETING: Final = "01HZX3K8N5VQ2W7R9T4M6P1C0D"
ACTION: Final = "01HZX3P4Q5R6S7T8V9W0X1Y2Z3"
REQUEST: Final = "01HZX3M2B7C8D9E0F1G2H3J4K5"
CASE: Final = "M-2026-0042"

CANARIES: Final[dict[str, str]] = {
    "victim.name": "Vicanary Quennell",
    "victim.other_names": "Vicanary Alias-Ashdown",
    "victim.date_of_birth": "1903-04-05",
    "victim.gender": "Vicanary-gender",
    "victim.address": "7 Vicanary Row, Plaintext Town",
    "victim.ethnicity": "Vicanary-ethnicity",
    "victim.disability": "Vicanary-disability",
    "victim.sexual_orientation": "Vicanary-orientation",
    "perpetrator.name": "Percanary Thorne",
    "perpetrator.date_of_birth": "1904-05-06",
    "perpetrator.address": "9 Percanary Close",
    "perpetrator.relationship_to_victim": "Percanary-relationship",
    "children.name": "Chicanary Quennell",
    "children.date_of_birth": "1905-06-07",
    "children.school": "Chicanary Primary School",
    "risk.tool": "DARA",
    "referral.rationale": "Refcanary rationale",
    "referral.consent_exception": "Refcanary exception",
    "safe_contact.phone": "07700 900 9117",
    "safe_contact.address": "Safecanary refuge address",
    "safe_contact.times": "Safecanary times",
    "safe_contact.notes": "Safecanary notes",
}
"""A distinctive value for each field path the kit fills, to look for in documents."""


def _person(role: str, prefix: str, subject: str) -> PersonDetails:
    values: dict[str, Any] = {}
    for path, value in CANARIES.items():
        group, _, name = path.partition(".")
        if group != prefix:
            continue
        if name == "date_of_birth":
            values[name] = date.fromisoformat(value)
        elif name == "other_names":
            values[name] = (value,)
        else:
            values[name] = value
    return PersonDetails(subject_id=subject, role=role, **values)


def full_extract() -> CaseExtract:
    """A case extract carrying every field the kit has a canary for, and one action."""
    return CaseExtract(
        case_ref=CASE,
        meeting_id=MEETING,
        purpose="case_extract",
        policy_version="kit.1",
        lawful_basis=BasisRef(id="kit-basis", version=1),
        victim=_person("victim", "victim", "S-KITVICTIM"),
        perpetrator=_person("perpetrator", "perpetrator", "S-KITPERP"),
        children=(_person("child", "children", "S-KITCHILD"),),
        risk=RiskSummary(
            tool="DARA", yes_count=17, level="high", answers=(True,) * 17 + (False,) * 7
        ),
        referral=ReferralInfo(
            criterion="professional_judgement",
            referring_agency="kit-police",
            referred_on=date(2026, 11, 2),
            rationale=CANARIES["referral.rationale"],
            consent="sought_refused",
            consent_exception=CANARIES["referral.consent_exception"],
        ),
        safe_contact=SafeContact(
            safe_to_contact=True,
            phone=CANARIES["safe_contact.phone"],
            address=CANARIES["safe_contact.address"],
            times=CANARIES["safe_contact.times"],
            notes=CANARIES["safe_contact.notes"],
        ),
        perpetrator_must_not_know=True,
        actions=(_action(),),
        summary="Kit summary of the case.",
    )


def _action() -> ActionSummary:
    return ActionSummary(
        action_id=ACTION,
        case_ref=CASE,
        owner_agency="kit-health",
        description="Flag the address on the health record.",
        due_date=date(2026, 12, 15),
        status="open",
    )


def without(extract: CaseExtract, path: str) -> CaseExtract:
    """``extract`` with the field ``path`` (``victim.name``, ``risk``) left out."""
    group, _, name = path.partition(".")
    if not name:
        return extract.model_copy(update={group: None})
    if group == "children":
        kids = tuple(c.model_copy(update={name: None}) for c in extract.children or ())
        return extract.model_copy(update={"children": kids})
    part = getattr(extract, group)
    return extract.model_copy(update={group: part.model_copy(update={name: None})})


def sample_messages() -> dict[str, Message]:
    """One realistic message of each type the hub may render for an agency."""
    extract = full_extract()
    victim, perpetrator = extract.victim, extract.perpetrator
    return {
        "case_extract": extract,
        "agenda": Agenda(
            meeting_id=MEETING,
            area="Kit Borough",
            meeting_date=date(2026, 12, 1),
            location="Kit Civic Centre",
            items=(
                AgendaItem(
                    case_ref=CASE,
                    position=1,
                    victim=victim,
                    perpetrator=perpetrator,
                    children=extract.children,
                    has_children=True,
                    is_repeat=False,
                ),
            ),
            carried_forward=(_action(),),
        ),
        "minutes": Minutes(
            meeting_id=MEETING,
            area="Kit Borough",
            meeting_date=date(2026, 12, 1),
            attended=("kit-health", "kit-police"),
            items=(
                MinutesItem(
                    case_ref=CASE, victim=victim, discussion="Agreed.", actions=(_action(),)
                ),
            ),
        ),
        "action_notice": ActionNotice(action=_action(), victim=victim),
        "research_request": ResearchRequest(
            request_id=REQUEST,
            case_ref=CASE,
            meeting_id=MEETING,
            respond_by=date(2026, 11, 28),
            subjects=(victim,) if victim else (),
        ),
        "notice": Notice(text="The December MARAC starts at 09:30."),
    }


def _nested(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    node = doc
    for _ in range(depth):
        node["x"] = {}
        node = node["x"]
    return doc


def _renders(fmt: Format, message_type: str) -> bool:
    """True if ``fmt`` renders this type (a format that renders nothing, like ``json``,
    passes every message through as its typed payload)."""
    return message_type in fmt.renders or not fmt.renders


def _assert_silent(error: FormatError, *secrets: str) -> None:
    text = f"{error} {error.diagnostics()}"
    for secret in secrets:
        assert secret not in text, "a format's error repeats a value it was given"


class FormatConformance:
    """The tests every format passes; subclass with a ``fmt`` fixture."""

    @pytest.fixture
    def fmt(self) -> Format:
        pytest.fail("FormatConformance needs a fmt fixture in the subclass, returning the format")

    @pytest.fixture
    def rendered(self, fmt: Format) -> Iterator[tuple[str, Message, dict[str, Any]]]:
        return (
            (name, message, fmt.render(message))
            for name, message in sample_messages().items()
            if _renders(fmt, name)
        )

    def test_declares_itself(self, fmt: Format) -> None:
        assert fmt.kind == "format"
        assert isinstance(fmt, Format)
        assert isinstance(fmt.name, str) and fmt.name
        assert fmt.renders <= RENDERED_TYPES

    def test_every_rendered_document_validates(self, fmt: Format, rendered: Any) -> None:
        for _, _, document in rendered:
            fmt.validate(document)
            assert len(canonical_json(document)) <= MAX_DOCUMENT_BYTES

    def test_rendering_is_deterministic_and_leaves_the_message_alone(self, fmt: Format) -> None:
        for name, message in sample_messages().items():
            if _renders(fmt, name):
                before = message.model_dump()
                assert fmt.render(message) == fmt.render(message)
                assert message.model_dump() == before

    def test_a_type_it_does_not_render_is_refused(self, fmt: Format) -> None:
        for name, message in sample_messages().items():
            if name not in fmt.renders and fmt.renders:
                with pytest.raises(FormatError):
                    fmt.render(message)

    def test_renders_only_what_the_message_carries(self, fmt: Format) -> None:
        if not _renders(fmt, "case_extract"):
            pytest.skip("renders no case extracts")
        full = json.dumps(fmt.render(full_extract()), ensure_ascii=False)
        for path, canary in CANARIES.items():
            if path == "risk.tool":
                continue  # an enum value may appear as a code: checked by dropping risk below
            assert canary in full, f"{fmt.name} drops {path} although the message carries it"
            document = fmt.render(without(full_extract(), path))
            fmt.validate(document)
            text = json.dumps(document, ensure_ascii=False)
            assert canary not in text, f"{fmt.name} renders {path} that the message lacks"
        for group in ("victim", "perpetrator", "children", "risk", "referral", "safe_contact"):
            text = json.dumps(fmt.render(without(full_extract(), group)), ensure_ascii=False)
            gone = [c for p, c in CANARIES.items() if p.startswith(group + ".")]
            assert not [c for c in gone if c in text], f"{fmt.name} renders {group} it lacks"

    @pytest.mark.parametrize("document", [None, [], "text", 7, True, [{"a": 1}]])
    def test_refuses_what_is_not_a_json_object(self, fmt: Format, document: object) -> None:
        with pytest.raises(FormatError):
            fmt.validate(document)

    def test_refuses_malformed_documents_without_echoing_them(self, fmt: Format) -> None:
        canary = CANARIES["victim.name"]
        for document in (
            {canary: canary},
            {"resourceType": canary, "pole_version": canary, "text": 5},
            {"entry": [{"resource": {"resourceType": "Patient", canary: canary}}]},
        ):
            with pytest.raises(FormatError) as info:
                fmt.validate(document)
            _assert_silent(info.value, canary)

    def test_refuses_oversized_documents(self, fmt: Format) -> None:
        canary = CANARIES["victim.address"]
        document = {"padding": canary * (MAX_DOCUMENT_BYTES // len(canary) + 1)}
        with pytest.raises(FormatError) as info:
            fmt.validate(document)
        assert info.value.code == "payload-too-large"
        _assert_silent(info.value, canary)

    def test_refuses_deeply_nested_documents(self, fmt: Format) -> None:
        with pytest.raises(FormatError):
            fmt.validate(_nested(MAX_DOCUMENT_DEPTH + 1))
        with pytest.raises(FormatError):
            fmt.validate(_nested(100_000))
