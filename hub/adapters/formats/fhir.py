"""``fhir-r4``: a FHIR R4 Bundle for health systems.

A case extract becomes a ``collection`` Bundle of:

* a **Patient** for the victim and for each child (as far as the policy let them into
  the extract), identified by their pseudonymous subject id;
* a **RelatedPerson** for the perpetrator, when the extract names one;
* a **Flag** marking a high-risk domestic abuse MARAC case, carrying the risk summary,
  the safe-contact arrangements and the "perpetrator must not know" warning;
* a **Communication** for the extract itself (purpose, lawful basis, policy version,
  referral, summary);
* a **Task** for each action.

An agenda is the same per case (Patients, RelatedPerson, Flag), one Communication for the
meeting and a Task for each carried-forward action; minutes likewise, with the
discussion of each case in its Flag's Communication. Everything the hub adds beyond
core FHIR is an extension under ``https://marac-hub.org/fhir/StructureDefinition/``.
Validation uses the R4B models of ``fhir.resources`` (R4B is R4 with errata; every
resource used here is unchanged from R4).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar, Final

from pydantic import ValidationError

from hub.adapters.formats import FormatError
from hub.adapters.formats._common import (
    MessageRenderer,
    bounded,
    meeting_actions,
    pydantic_problems,
)
from hub.protocol.messages import (
    ActionSummary,
    Agenda,
    CaseExtract,
    Message,
    Minutes,
    PersonDetails,
    ReferralInfo,
    RiskSummary,
    SafeContact,
)

__all__ = ["BASE", "FhirR4Format"]

BASE: Final = "https://marac-hub.org/fhir"
EXT: Final = BASE + "/StructureDefinition/"
SUBJECT_SYSTEM: Final = BASE + "/subject-id"
CASE_SYSTEM: Final = BASE + "/case-ref"
ACTION_SYSTEM: Final = BASE + "/action-id"
AGENCY_SYSTEM: Final = BASE + "/agency-id"
MEETING_SYSTEM: Final = BASE + "/meeting-id"
MARAC_CODES: Final = BASE + "/CodeSystem/marac"
FLAG_CODE: Final = {
    "coding": [
        {
            "system": MARAC_CODES,
            "code": "marac-high-risk-domestic-abuse",
            "display": "High-risk domestic abuse: MARAC case",
        }
    ],
    "text": "High-risk domestic abuse: MARAC case",
}
RESOURCE_TYPES: Final = frozenset({"Patient", "RelatedPerson", "Flag", "Communication", "Task"})
_NAMESPACE: Final = uuid.UUID("5f0c6a43-5b1e-4f57-9a43-6d0a3c1f2b7e")
_GENDER: Final = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "girl": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "boy": "male",
    "other": "other",
    "unknown": "unknown",
}
_TASK_STATUS: Final = {
    "open": "requested",
    "in_progress": "in-progress",
    "completed": "completed",
    "cancelled": "cancelled",
}


def _ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": EXT + name, **value}


def _text_ext(name: str, value: str | None) -> list[dict[str, Any]]:
    return [] if value is None else [_ext(name, valueString=value)]


def _ident(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


class _Bundle:
    """Collects resources; each gets a stable ``urn:uuid`` from what it stands for."""

    def __init__(self, message_type: str) -> None:
        self.message_type = message_type
        self.entries: list[dict[str, Any]] = []

    def add(self, key: str, resource: dict[str, Any]) -> str:
        url = f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{self.message_type}/{key}')}"
        self.entries.append({"fullUrl": url, "resource": resource})
        return url

    def document(self) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "meta": {"tag": [{"system": BASE + "/message-type", "code": self.message_type}]},
            "type": "collection",
            "entry": self.entries,
        }


def _person(
    bundle: _Bundle, case_ref: str, person: PersonDetails, victim_ref: str | None
) -> str | None:
    """A Patient (victim, child, other) or RelatedPerson (perpetrator); its reference."""
    resource: dict[str, Any] = {
        "identifier": [_ident(SUBJECT_SYSTEM, person.subject_id)],
    }
    names = [{"use": "official", "text": person.name}] if person.name else []
    names += [{"use": "nickname", "text": other} for other in person.other_names or ()]
    if names:
        resource["name"] = names
    if person.gender is not None:
        resource["gender"] = _GENDER.get(person.gender.strip().lower(), "unknown")
    if person.date_of_birth is not None:
        resource["birthDate"] = person.date_of_birth.isoformat()
    if person.address is not None:
        resource["address"] = [{"text": person.address}]
    extensions = [
        _ext("marac-role", valueCode=person.role),
        *_text_ext("gender-description", person.gender),
        *_text_ext("ethnicity", person.ethnicity),
        *_text_ext("disability", person.disability),
        *_text_ext("sexual-orientation", person.sexual_orientation),
        *_text_ext("relationship-to-victim", person.relationship_to_victim),
        *_text_ext("school", person.school),
    ]
    resource["extension"] = extensions
    key = f"{case_ref}/person/{person.subject_id}"
    if person.role == "perpetrator":
        resource["resourceType"] = "RelatedPerson"
        resource["patient"] = (
            {"reference": victim_ref}
            if victim_ref
            else {"type": "Patient", "identifier": _ident(CASE_SYSTEM, case_ref)}
        )
        return bundle.add(key, _ordered("RelatedPerson", resource))
    return bundle.add(key, _ordered("Patient", resource))


def _ordered(resource_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": resource_type, **resource}


def _risk(risk: RiskSummary) -> dict[str, Any]:
    parts = [
        _ext("risk-tool", valueCode=risk.tool),
        _ext("risk-yes-count", valueInteger=risk.yes_count),
        _ext("risk-level", valueCode=risk.level),
    ]
    if risk.answers is not None:
        parts += [
            {"url": f"q{number}", "valueBoolean": answer}
            for number, answer in enumerate(risk.answers, 1)
            if answer is not None
        ]
    return _ext("risk", extension=parts)


def _safe_contact(contact: SafeContact) -> dict[str, Any]:
    parts = [
        {"url": "safe-to-contact", "valueBoolean": contact.safe_to_contact},
        *[
            {"url": name, "valueString": value}
            for name, value in (
                ("phone", contact.phone),
                ("address", contact.address),
                ("times", contact.times),
                ("notes", contact.notes),
            )
            if value is not None
        ],
    ]
    return _ext("safe-contact", extension=parts)


def _referral(referral: ReferralInfo) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "criterion", "valueCode": referral.criterion},
        {"url": "referring-agency", "valueString": referral.referring_agency},
        {"url": "referred-on", "valueDate": referral.referred_on.isoformat()},
        {"url": "consent", "valueCode": referral.consent},
    ]
    parts += [
        {"url": name, "valueString": value}
        for name, value in (
            ("rationale", referral.rationale),
            ("consent-exception", referral.consent_exception),
        )
        if value is not None
    ]
    return _ext("referral", extension=parts)


def _flag(
    bundle: _Bundle,
    case_ref: str,
    victim_ref: str | None,
    extensions: Iterable[dict[str, Any]],
) -> str:
    resource: dict[str, Any] = {
        "resourceType": "Flag",
        "identifier": [_ident(CASE_SYSTEM, case_ref)],
        "status": "active",
        "category": [{"text": "MARAC"}],
        "code": FLAG_CODE,
        "subject": (
            {"reference": victim_ref}
            if victim_ref
            else {"type": "Patient", "identifier": _ident(CASE_SYSTEM, case_ref)}
        ),
    }
    found = list(extensions)
    if found:
        resource["extension"] = found
    return bundle.add(f"{case_ref}/flag", resource)


def _people(
    bundle: _Bundle,
    case_ref: str,
    victim: PersonDetails | None,
    perpetrator: PersonDetails | None,
    children: Iterable[PersonDetails] | None,
) -> str | None:
    """Every person of a case; the victim's reference (None if the victim is not named)."""
    victim_ref = _person(bundle, case_ref, victim, None) if victim else None
    if perpetrator is not None:
        _person(bundle, case_ref, perpetrator, victim_ref)
    for child in children or ():
        _person(bundle, case_ref, child, victim_ref)
    return victim_ref


def _task(bundle: _Bundle, action: ActionSummary, refs: dict[str, tuple[str | None, str]]) -> str:
    victim_ref, flag_ref = refs.get(action.case_ref, (None, None))
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [_ident(ACTION_SYSTEM, action.action_id)],
        "status": _TASK_STATUS[action.status],
        "intent": "order",
        "code": {"text": "MARAC action"},
        "owner": {"type": "Organization", "identifier": _ident(AGENCY_SYSTEM, action.owner_agency)},
        "restriction": {"period": {"end": action.due_date.isoformat()}},
        "extension": [_ext("case-ref", valueString=action.case_ref)],
    }
    if victim_ref:
        resource["for"] = {"reference": victim_ref}
    if flag_ref:
        resource["focus"] = {"reference": flag_ref}
    if action.description is not None:  # withheld from agencies the policy keeps it from
        resource["description"] = action.description
    if action.reason is not None:
        resource["statusReason"] = {"text": action.reason}
    return bundle.add(f"{action.case_ref}/action/{action.action_id}", resource)


def _communication(
    bundle: _Bundle,
    key: str,
    category: str,
    *,
    identifier: list[dict[str, str]],
    subject: str | None,
    about: list[str],
    extensions: list[dict[str, Any]],
    text: str | None,
) -> str:
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "identifier": identifier,
        "status": "completed",
        "category": [{"coding": [{"system": MARAC_CODES, "code": key}], "text": category}],
    }
    if subject:
        resource["subject"] = {"reference": subject}
    if about:
        resource["about"] = [{"reference": ref} for ref in about]
    if text is not None:
        resource["payload"] = [{"contentString": text}]
    if extensions:
        resource["extension"] = extensions
    return bundle.add(key, resource)


def _extract(message: CaseExtract) -> dict[str, Any]:
    bundle = _Bundle(message.message_type)
    ref = message.case_ref
    victim_ref = _people(bundle, ref, message.victim, message.perpetrator, message.children)
    flag_ref = _flag(bundle, ref, victim_ref, _case_markers(message))
    refs = {ref: (victim_ref, flag_ref)}
    tasks = [_task(bundle, action, refs) for action in message.actions or ()]
    meta = [
        _ext("purpose", valueCode=message.purpose),
        _ext("policy-version", valueString=message.policy_version),
        _ext(
            "lawful-basis",
            extension=[
                {"url": "id", "valueString": message.lawful_basis.id},
                {"url": "version", "valueInteger": message.lawful_basis.version},
            ],
        ),
        *([_referral(message.referral)] if message.referral else []),
    ]
    identifier = [_ident(CASE_SYSTEM, ref)]
    if message.meeting_id:
        identifier.append(_ident(MEETING_SYSTEM, message.meeting_id))
    _communication(
        bundle,
        "case-extract",
        "MARAC case extract",
        identifier=identifier,
        subject=victim_ref,
        about=[flag_ref, *tasks],
        extensions=meta,
        text=message.summary,
    )
    return bundle.document()


def _case_markers(message: CaseExtract) -> list[dict[str, Any]]:
    markers = []
    if message.risk is not None:
        markers.append(_risk(message.risk))
    if message.safe_contact is not None:
        markers.append(_safe_contact(message.safe_contact))
    if message.perpetrator_must_not_know is not None:
        markers.append(
            _ext("perpetrator-must-not-know", valueBoolean=message.perpetrator_must_not_know)
        )
    return markers


def _meeting(
    message: Agenda | Minutes, key: str, category: str, extra: list[dict[str, Any]]
) -> dict[str, Any]:
    bundle = _Bundle(message.message_type)
    refs: dict[str, tuple[str | None, str]] = {}
    for item in message.items:
        children = getattr(item, "children", None)
        victim_ref = _people(
            bundle, item.case_ref, item.victim, getattr(item, "perpetrator", None), children
        )
        markers = []
        if isinstance(message, Agenda):
            markers = [
                _ext("agenda-position", valueInteger=getattr(item, "position", 0)),
                _ext("has-children", valueBoolean=getattr(item, "has_children", False)),
                _ext("repeat", valueBoolean=getattr(item, "is_repeat", False)),
            ]
        refs[item.case_ref] = (victim_ref, _flag(bundle, item.case_ref, victim_ref, markers))
    actions = meeting_actions(message)
    tasks = [_task(bundle, action, refs) for action in actions]
    if isinstance(message, Minutes):
        for item in message.items:
            if item.discussion is not None:
                victim_ref, flag_ref = refs[item.case_ref]
                _communication(
                    bundle,
                    f"{item.case_ref}/discussion",
                    "MARAC discussion",
                    identifier=[_ident(CASE_SYSTEM, item.case_ref)],
                    subject=victim_ref,
                    about=[flag_ref],
                    extensions=[],
                    text=item.discussion,
                )
    _communication(
        bundle,
        key,
        category,
        identifier=[_ident(MEETING_SYSTEM, message.meeting_id)],
        subject=None,
        about=[flag for _, flag in refs.values()] + tasks,
        extensions=[
            _ext("meeting-date", valueDate=message.meeting_date.isoformat()),
            _ext("area", valueString=message.area),
            *extra,
        ],
        text=None,
    )
    return bundle.document()


def _agenda(message: Agenda) -> dict[str, Any]:
    return _meeting(message, "agenda", "MARAC agenda", _text_ext("location", message.location))


def _minutes(message: Minutes) -> dict[str, Any]:
    attendance = [_ext("attended", valueString=a) for a in message.attended]
    attendance += [_ext("apologies", valueString=a) for a in message.apologies]
    return _meeting(message, "minutes", "MARAC minutes", attendance)


class FhirR4Format(MessageRenderer):
    """Case extracts, agendas and minutes as FHIR R4 Bundles (see the module docstring)."""

    name: ClassVar[str] = "fhir-r4"

    def build(self, message: Message) -> dict[str, Any]:
        """The Bundle for a case extract, an agenda or minutes."""
        if isinstance(message, CaseExtract):
            return _extract(message)
        if isinstance(message, Agenda):
            return _agenda(message)
        assert isinstance(message, Minutes)
        return _minutes(message)

    def validate(self, document: object) -> None:
        """A FHIR R4 ``collection`` Bundle of Patient, RelatedPerson, Flag, Communication
        and Task resources that validates with ``fhir.resources``."""
        from fhir.resources.R4B.bundle import Bundle  # noqa: PLC0415 (slow import)

        doc = bounded(document, self.name)
        if doc.get("resourceType") != "Bundle" or doc.get("type") != "collection":
            raise FormatError("a fhir-r4 document is a FHIR Bundle of type collection")
        entries = doc.get("entry", [])
        if not isinstance(entries, list):
            raise FormatError("entry: list_type")
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            kind = resource.get("resourceType") if isinstance(resource, dict) else None
            if kind not in RESOURCE_TYPES:
                raise FormatError(
                    f"entry.{index}.resource: not one of {', '.join(sorted(RESOURCE_TYPES))}"
                )
        try:
            Bundle.model_validate(doc)
        except ValidationError as exc:
            raise FormatError(f"invalid FHIR R4 Bundle: {pydantic_problems(exc)}") from None
        except (ValueError, TypeError, KeyError, RecursionError):
            raise FormatError("invalid FHIR R4 Bundle") from None
