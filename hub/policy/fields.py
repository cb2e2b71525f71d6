"""The field catalogue: every case field path, its data category, and what each purpose carries.

A path names one field of the case view (shaped like
:class:`hub.protocol.messages.CaseExtract`): ``victim.name``, ``children.school``,
``risk.level``, ``perpetrator_must_not_know``. ``subject_id`` and ``role`` travel with
any person field and are not policy fields.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = [
    "CATEGORIES",
    "FIELDS",
    "GROUPS",
    "PERSON_GROUPS",
    "PURPOSES",
    "PURPOSE_FIELDS",
    "REQUIRED_IN_GROUP",
    "categories_of",
]

PURPOSES: Final = ("agenda", "research_request", "case_extract", "action_notice", "minutes")
CATEGORIES: Final = ("identity", "contact", "special_category", "offence", "risk", "referral")

_PERSON: Final = ("name", "other_names", "date_of_birth", "gender", "address")
_SPECIAL: Final = ("ethnicity", "disability", "sexual_orientation")


def _catalogue() -> dict[str, str]:
    fields: dict[str, str] = {}
    for attr in _PERSON:
        fields[f"victim.{attr}"] = "contact" if attr == "address" else "identity"
    for attr in _SPECIAL:
        fields[f"victim.{attr}"] = "special_category"
    # Who is alleged to have abused whom is data about alleged offences (UK GDPR Art. 10).
    for attr in (*_PERSON, "relationship_to_victim"):
        fields[f"perpetrator.{attr}"] = "offence"
    for attr in _SPECIAL:
        fields[f"perpetrator.{attr}"] = "special_category"
    for attr in ("name", "date_of_birth", "gender"):
        fields[f"children.{attr}"] = "identity"
    fields["children.school"] = "contact"
    fields["children.address"] = "contact"
    for attr in ("tool", "yes_count", "level", "answers"):
        fields[f"risk.{attr}"] = "risk"
    for attr in (
        "criterion",
        "referring_agency",
        "referred_on",
        "rationale",
        "consent",
        "consent_exception",
    ):
        fields[f"referral.{attr}"] = "referral"
    for attr in ("safe_to_contact", "phone", "address", "times", "notes"):
        fields[f"safe_contact.{attr}"] = "contact"
    fields["perpetrator_must_not_know"] = "risk"
    return fields


FIELDS: Final = MappingProxyType(_catalogue())
"""Every field path and its data category."""

PERSON_GROUPS: Final = ("victim", "perpetrator", "children")
GROUPS: Final = (*PERSON_GROUPS, "risk", "referral", "safe_contact")

REQUIRED_IN_GROUP: Final = MappingProxyType(
    {
        "risk": frozenset({"risk.tool", "risk.yes_count", "risk.level"}),
        "referral": frozenset(
            {
                "referral.criterion",
                "referral.referring_agency",
                "referral.referred_on",
                "referral.consent",
            }
        ),
        "safe_contact": frozenset({"safe_contact.safe_to_contact"}),
    }
)
"""Fields a message cannot omit once any field of their group is sent."""


def _under(*groups: str) -> frozenset[str]:
    return frozenset(p for p in FIELDS if p.split(".", 1)[0] in groups)


PURPOSE_FIELDS: Final = MappingProxyType(
    {
        "agenda": _under(*PERSON_GROUPS),
        "research_request": _under(*PERSON_GROUPS),
        "minutes": _under(*PERSON_GROUPS),
        "action_notice": _under("victim", "safe_contact", "perpetrator_must_not_know"),
        "case_extract": frozenset(FIELDS),
    }
)
"""The fields each purpose's message can carry."""


def categories_of(paths: frozenset[str] | set[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The sorted data categories of ``paths`` (all must be catalogue paths)."""
    return tuple(sorted({FIELDS[p] for p in paths}))
