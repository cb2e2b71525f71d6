"""The field catalogue: every field path that can leave the hub, its data category, and what
each purpose carries.

A case path names one field of the case view (shaped like
:class:`hub.protocol.messages.CaseExtract`): ``victim.name``, ``children.school``,
``risk.level``, ``perpetrator_must_not_know``. ``subject_id`` and ``role`` travel with
any person field and are not policy fields.

A free-text path names the staff's own words a message carries: an action's description
and reason (``carried_forward.description`` on an agenda, ``action.description`` in an
action notice, ``actions.description`` in the minutes) and a case's ``discussion`` in the
minutes. Free text may name anyone, so it has rules of its own like any other field;
:func:`free_text_paths` reads back which of them a built payload carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "ALL_FIELDS",
    "CATEGORIES",
    "FIELDS",
    "FREE_TEXT",
    "OWNED",
    "GROUPS",
    "PERSON_GROUPS",
    "PURPOSES",
    "PURPOSE_FIELDS",
    "REQUIRED_IN_GROUP",
    "categories_of",
    "free_text_paths",
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

FREE_TEXT: Final = MappingProxyType(
    {
        # An agenda's actions carried forward from earlier meetings.
        "carried_forward.description": "risk",
        "carried_forward.reason": "risk",
        # The one action an action notice tells its owner about.
        "action.description": "risk",
        "action.reason": "risk",
        # The minutes: each case's discussion and the actions agreed for it.
        "discussion": "risk",
        "actions.description": "risk",
        "actions.reason": "risk",
    }
)
"""Every free-text path and its data category (risk: what is planned to keep someone safe)."""

ALL_FIELDS: Final = MappingProxyType({**FIELDS, **FREE_TEXT})
"""Every path a policy rule may name: the case fields and the free text."""

OWNED: Final = MappingProxyType(
    {
        "agenda": frozenset({"carried_forward.description", "carried_forward.reason"}),
        "minutes": frozenset({"actions.description", "actions.reason"}),
    }
)
"""Free text about an action, which a rule's ``owner_fields`` sends only to its owner."""

PERSON_GROUPS: Final = ("victim", "perpetrator", "children")
GROUPS: Final = (
    *PERSON_GROUPS,
    "risk",
    "referral",
    "safe_contact",
    "carried_forward",
    "action",
    "actions",
)

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
    return frozenset(p for p in ALL_FIELDS if p.split(".", 1)[0] in groups)


PURPOSE_FIELDS: Final = MappingProxyType(
    {
        "agenda": _under(*PERSON_GROUPS, "carried_forward"),
        "research_request": _under(*PERSON_GROUPS),
        "minutes": _under(*PERSON_GROUPS, "discussion", "actions"),
        "action_notice": _under("victim", "safe_contact", "perpetrator_must_not_know", "action"),
        "case_extract": frozenset(FIELDS),
    }
)
"""The fields each purpose's message can carry."""


def categories_of(paths: frozenset[str] | set[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The sorted data categories of ``paths`` (all must be catalogue paths)."""
    return tuple(sorted({ALL_FIELDS[p] for p in paths}))


def _texts(items: Any, prefix: str, paths: set[str]) -> None:
    """Add ``prefix.description`` / ``prefix.reason`` for each action in ``items`` carrying one."""
    for item in items if isinstance(items, list | tuple) else (items,):
        if isinstance(item, Mapping):
            paths.update(f"{prefix}.{k}" for k in ("description", "reason") if item.get(k))


def free_text_paths(payload: Mapping[str, Any]) -> frozenset[str]:
    """The free-text paths (:data:`FREE_TEXT`) a built message's payload carries.

    Read off the payload's shape (agenda, action notice, minutes); a text left out (or
    ``None``) is not carried.
    """
    paths: set[str] = set()
    _texts(payload.get("carried_forward") or (), "carried_forward", paths)
    if isinstance(payload.get("action"), Mapping):
        _texts(payload["action"], "action", paths)
    items = payload.get("items")
    for item in items if isinstance(items, list | tuple) else ():
        if isinstance(item, Mapping):
            if item.get("discussion"):
                paths.add("discussion")
            _texts(item.get("actions") or (), "actions", paths)
    return frozenset(paths)
