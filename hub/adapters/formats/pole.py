"""``pole``: Person, Object, Location, Event JSON for police records systems.

UK police systems share data as POLE entities. A document holds four lists and the
links between their members:

* ``persons``: victim, perpetrator, children (as far as the policy let them in), by
  their pseudonymous subject id;
* ``objects``: things, such as the telephone number for safe contact;
* ``locations``: addresses (a person's, the safe-contact address, a school, a venue);
* ``events``: the MARAC case itself (with its warning markers), the referral, the risk
  assessment, the safe-contact arrangement, the meeting and each action;
* ``links``: ``{"from", "to", "relation"}`` between any two of them.

The JSON Schema is ``pole.schema.json`` beside this module, served by the hub at
``GET /api/v1/schemas/pole.json``; every document is validated against it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, ClassVar, Final

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from hub.adapters.formats import FormatError
from hub.adapters.formats._common import MessageRenderer, bounded, meeting_actions, where
from hub.protocol.messages import (
    ActionSummary,
    Agenda,
    CaseExtract,
    Message,
    Minutes,
    PersonDetails,
)

__all__ = ["POLE_VERSION", "SCHEMA_ID", "PoleFormat", "schema", "schema_bytes"]

POLE_VERSION: Final = "1.0"
SCHEMA_ID: Final = "https://marac-hub.org/schemas/pole.json"
_PERSON_FIELDS: Final = (
    "name",
    "date_of_birth",
    "gender",
    "ethnicity",
    "disability",
    "sexual_orientation",
    "relationship_to_victim",
)


@cache
def schema_bytes() -> bytes:
    """The published JSON Schema, as shipped (package data)."""
    return files("hub.adapters.formats").joinpath("pole.schema.json").read_bytes()


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12)."""
    loaded: dict[str, Any] = json.loads(schema_bytes())
    return loaded


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


class _Document:
    """Builds one POLE document; ids are stable within it."""

    def __init__(self, message: Message) -> None:
        self.doc: dict[str, Any] = {
            "pole_version": POLE_VERSION,
            "message_type": message.message_type,
            "source": {},
            "persons": [],
            "objects": [],
            "locations": [],
            "events": [],
            "links": [],
        }

    def _add(self, kind: str, entity: dict[str, Any]) -> str:
        self.doc[kind].append(entity)
        return str(entity["id"])

    def link(self, source: str, target: str, relation: str) -> None:
        self.doc["links"].append({"from": source, "to": target, "relation": relation})

    def location(self, case_ref: str | None, kind: str, address: str) -> str:
        number = len(self.doc["locations"]) + 1
        entity = {"id": f"L{number}", "type": kind, "address": address}
        if case_ref is not None:
            entity["case_ref"] = case_ref
        return self._add("locations", entity)

    def event(self, case_ref: str | None, kind: str, **fields: Any) -> str:
        number = len(self.doc["events"]) + 1
        entity = {"id": f"E{number}", "type": kind}
        if case_ref is not None:
            entity["case_ref"] = case_ref
        entity.update({k: v for k, v in fields.items() if v is not None})
        return self._add("events", entity)

    def person(self, case_ref: str, person: PersonDetails, case_event: str) -> str:
        entity: dict[str, Any] = {
            "id": f"P:{case_ref}:{person.subject_id}",
            "subject_id": person.subject_id,
            "role": person.role,
            "case_ref": case_ref,
        }
        for name in _PERSON_FIELDS:
            value = getattr(person, name)
            if value is not None:
                entity[name] = value.isoformat() if name == "date_of_birth" else value
        if person.other_names is not None:
            entity["other_names"] = list(person.other_names)
        person_id = self._add("persons", entity)
        self.link(person_id, case_event, person.role)
        if person.address is not None:
            self.link(person_id, self.location(case_ref, "address", person.address), "resides_at")
        if person.school is not None:
            self.link(person_id, self.location(case_ref, "school", person.school), "attends")
        return person_id

    def people(
        self,
        case_ref: str,
        case_event: str,
        people: list[PersonDetails | None],
    ) -> None:
        for person in people:
            if person is not None:
                self.person(case_ref, person, case_event)

    def action(self, action: ActionSummary, case_events: dict[str, str]) -> str:
        event = self.event(
            action.case_ref,
            "action",
            date=action.due_date.isoformat(),
            action={
                k: v
                for k, v in action.model_dump(mode="json", exclude_none=True).items()
                if k != "case_ref"
            },
        )
        if action.case_ref in case_events:
            self.link(case_events[action.case_ref], event, "has_action")
        return event


def _extract(message: CaseExtract) -> dict[str, Any]:
    pole = _Document(message)
    ref = message.case_ref
    pole.doc["source"] = {
        "case_refs": [ref],
        "purpose": message.purpose,
        "policy_version": message.policy_version,
        "lawful_basis": {"id": message.lawful_basis.id, "version": message.lawful_basis.version},
    }
    if message.meeting_id is not None:
        pole.doc["source"]["meeting_id"] = message.meeting_id
    markers = {"high_risk_domestic_abuse": True}
    if message.perpetrator_must_not_know is not None:
        markers["perpetrator_must_not_know"] = message.perpetrator_must_not_know
    case = pole.event(ref, "marac_case", markers=markers, description=message.summary)
    victim = message.victim
    pole.people(ref, case, [victim, message.perpetrator, *(message.children or ())])
    if message.referral is not None:
        referral = message.referral.model_dump(mode="json", exclude_none=True)
        pole.link(
            case,
            pole.event(ref, "referral", date=referral["referred_on"], referral=referral),
            "referral",
        )
    if message.risk is not None:
        risk = message.risk.model_dump(mode="json", exclude_none=True)
        pole.link(case, pole.event(ref, "risk_assessment", risk=risk), "risk_assessment")
    if message.safe_contact is not None:
        contact = message.safe_contact
        arrangement = pole.event(
            ref,
            "safe_contact",
            safe_contact={
                k: v
                for k, v in (
                    ("safe_to_contact", contact.safe_to_contact),
                    ("times", contact.times),
                    ("notes", contact.notes),
                )
                if v is not None
            },
        )
        pole.link(case, arrangement, "safe_contact")
        if contact.phone is not None:
            number = len(pole.doc["objects"]) + 1
            phone = pole._add(
                "objects",
                {"id": f"O{number}", "type": "telephone", "case_ref": ref, "value": contact.phone},
            )
            pole.link(arrangement, phone, "contact_by")
        if contact.address is not None:
            pole.link(
                arrangement, pole.location(ref, "safe_address", contact.address), "contact_at"
            )
    for action in message.actions or ():
        pole.action(action, {ref: case})
    return pole.doc


def _meeting(message: Agenda | Minutes) -> dict[str, Any]:
    pole = _Document(message)
    refs = [item.case_ref for item in message.items]
    pole.doc["source"] = {"case_refs": refs, "meeting_id": message.meeting_id}
    meeting_fields: dict[str, Any] = {
        "meeting_id": message.meeting_id,
        "area": message.area,
    }
    if isinstance(message, Minutes):
        meeting_fields["attended"] = list(message.attended)
        meeting_fields["apologies"] = list(message.apologies)
    meeting = pole.event(
        None, "marac_meeting", date=message.meeting_date.isoformat(), meeting=meeting_fields
    )
    if isinstance(message, Agenda) and message.location is not None:
        pole.link(meeting, pole.location(None, "venue", message.location), "held_at")
    cases: dict[str, str] = {}
    for item in message.items:
        markers: dict[str, Any] = {"high_risk_domestic_abuse": True}
        people: list[PersonDetails | None] = [item.victim]
        description = None
        if isinstance(message, Agenda):
            markers |= {
                "has_children": getattr(item, "has_children", False),
                "is_repeat": getattr(item, "is_repeat", False),
            }
            people += [getattr(item, "perpetrator", None), *(getattr(item, "children", None) or ())]
        else:
            description = getattr(item, "discussion", None)
        position = getattr(item, "position", None)
        case = pole.event(
            item.case_ref, "marac_case", markers=markers, position=position, description=description
        )
        cases[item.case_ref] = case
        pole.link(meeting, case, "hears")
        pole.people(item.case_ref, case, people)
    actions = meeting_actions(message)
    for action in actions:
        pole.action(action, cases)
    return pole.doc


class PoleFormat(MessageRenderer):
    """Case extracts, agendas and minutes as POLE documents (see the module docstring)."""

    name: ClassVar[str] = "pole"

    def build(self, message: Message) -> dict[str, Any]:
        """The POLE document for a case extract, an agenda or minutes."""
        if isinstance(message, CaseExtract):
            return _extract(message)
        assert isinstance(message, Agenda | Minutes)
        return _meeting(message)

    def validate(self, document: object) -> None:
        """Valid against the published schema (``FormatError`` naming where, not what)."""
        doc = bounded(document, self.name)
        errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            raise FormatError(
                f"invalid POLE document at {where(first.absolute_path)}: "
                f"{first.validator} (and {len(errors) - 1} more)"
                if len(errors) > 1
                else f"invalid POLE document at {where(first.absolute_path)}: {first.validator}"
            )
