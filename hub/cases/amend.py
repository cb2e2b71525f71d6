"""Amending a referral: a change applied to the referral as the API takes it, validated
again whole, stored under the case key; every earlier version kept.

The referral a case holds is rebuilt as the document the API takes (:func:`referral_of`);
an amendment is an RFC 7396 merge patch over it (objects merged, a ``null`` removes, a list
such as ``children`` is replaced whole). The result is validated like a new referral. The
version before it is kept in ``referral_amendments`` under the case key with who changed
it, when, through which door and which fields (names only, never values).

The victim's and perpetrator's pseudonymous subject ids stay; a child keeps its id by
position, a child added gets a new one, and a child taken off the referral keeps its row
(role ``removed``: what was disclosed about them stays findable by a subject access
report) but leaves the case. Whether the case is a repeat is decided once, at referral.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.cases.areas import Area
from hub.cases.casekeys import key_ring
from hub.cases.referral import Referral, parse_referral
from hub.cases.refs import new_subject_id
from hub.cases.repeats import match_key
from hub.cases.store import case_row, check_referral_rules, open_field, seal_field
from hub.cases.tables import case_subjects, cases, referral_amendments
from hub.crypto.at_rest import DataKeyRing
from hub.hub_keys import HubKeys
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "MAX_PATCH_DEPTH",
    "Amended",
    "Amendment",
    "amend_referral",
    "amendment_history",
    "changed_fields",
    "merge_patch",
    "referral_of",
]

MAX_PATCH_DEPTH: Final = 8
REMOVED: Final = "removed"  # the role of a child taken off the referral
_PEOPLE: Final = ("victim", "perpetrator")


@dataclass(frozen=True, slots=True)
class Amendment:
    """One amendment as the history shows it: no values, field names only."""

    version: int
    amended_at: datetime
    amended_by: str
    door: str
    fields: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The amendment as the API shows it."""
        return {
            "version": self.version,
            "amended_at": self.amended_at.isoformat(),
            "amended_by": self.amended_by,
            "door": self.door,
            "fields": list(self.fields),
        }


@dataclass(frozen=True, slots=True)
class Amended:
    """What an amendment did: the version it made and the fields it changed."""

    case_ref: str
    version: int
    fields: tuple[str, ...]


def merge_patch(target: Any, patch: Any, depth: int = 0) -> Any:
    """RFC 7396: ``patch`` applied to ``target`` (neither is changed)."""
    if depth > MAX_PATCH_DEPTH:
        raise ProtocolError("the amendment is nested too deeply", code="invalid-referral")
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value, depth + 1)
    return out


async def referral_of(conn: AsyncConnection, keys: HubKeys, ref: str) -> dict[str, Any]:
    """The referral a case holds now, as the document the API takes."""
    row = await case_row(conn, ref)
    ring = await key_ring(conn, keys, ref)
    return _document(row, ring, await _subjects(conn, ref), ref)


async def _subjects(conn: AsyncConnection, ref: str) -> list[Any]:
    return list(
        (
            await conn.execute(
                select(case_subjects)
                .where(case_subjects.c.case_ref == ref, case_subjects.c.role != REMOVED)
                .order_by(case_subjects.c.position)
            )
        ).all()
    )


def _document(row: Any, ring: DataKeyRing, subjects: list[Any], ref: str) -> dict[str, Any]:
    text = open_field(ring, ref, "referral_text", row.referral_text) or {}
    doc: dict[str, Any] = {
        "referring_agency": row.referring_agency,
        "referred_on": row.referred_on.isoformat(),
        "children": [],
        "risk": {"tool": row.tool, "answers": open_field(ring, ref, "answers", row.answers)},
        "criterion": row.criterion,
        "consent": {"status": row.consent},
        "safe_contact": {
            k: v
            for k, v in (open_field(ring, ref, "safe_contact", row.safe_contact) or {}).items()
            if v is not None
        },
        "perpetrator_must_not_know": row.perpetrator_must_not_know,
    }
    for s in subjects:
        person = open_field(ring, ref, f"subject:{s.subject_id}", s.details)
        if s.role == "child":
            doc["children"].append(person)
        else:
            doc[s.role] = person
    if text.get("consent_exception") is not None:
        doc["consent"]["exception"] = text["consent_exception"]
    for name in ("rationale", "police_callouts_12m"):
        if text.get(name) is not None:
            doc[name] = text[name]
    return doc


def _flat(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document's values by field path (the policy's paths where there is one)."""
    out: dict[str, Any] = {}
    for role in _PEOPLE:
        for key, value in (doc.get(role) or {}).items():
            if _frozen(value) is not None:
                out[f"{role}.{key}"] = _frozen(value)
    children = doc.get("children") or []
    for key in sorted({k for child in children for k in child}):
        out[f"children.{key}"] = tuple(_frozen(child.get(key)) for child in children)
    out["children.count"] = len(children)
    risk = doc.get("risk") or {}
    answers = tuple(risk.get("answers") or ())
    yes = sum(1 for a in answers if a == "yes")
    out["risk.tool"], out["risk.answers"], out["risk.yes_count"] = risk.get("tool"), answers, yes
    consent = doc.get("consent") or {}
    out["referral.consent"] = consent.get("status")
    out["referral.consent_exception"] = consent.get("exception")
    for key in ("criterion", "referring_agency", "referred_on", "rationale"):
        out[f"referral.{key}"] = doc.get(key)
    out["referral.police_callouts_12m"] = doc.get("police_callouts_12m")
    for key, value in (doc.get("safe_contact") or {}).items():
        out[f"safe_contact.{key}"] = value
    out["perpetrator_must_not_know"] = doc.get("perpetrator_must_not_know")
    return out


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(value) or None  # an empty list is as good as none
    return value


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any], levels: tuple[str, str]
) -> tuple[str, ...]:
    """The field paths whose values differ (``risk.level`` from the two ``levels``)."""
    old, new = _flat(before), _flat(after)
    changed = {path for path in old.keys() | new.keys() if old.get(path) != new.get(path)}
    if "children.count" in changed:  # a child added or taken off: every child field moved
        changed.discard("children.count")
        changed |= {p for p in old.keys() | new.keys() if p.startswith("children.")}
        changed.discard("children.count")
    if levels[0] != levels[1]:
        changed.add("risk.level")
    return tuple(sorted(changed))


async def amend_referral(
    conn: AsyncConnection,
    keys: HubKeys,
    area: Area,
    ref: str,
    patch: Any,
    *,
    actor: str,
    door: str,
    now: datetime,
    whole: bool = False,
) -> Amended:
    """Apply ``patch`` to the case's referral in the caller's transaction: validated
    whole, stored, the version before it kept (``whole``: ``patch`` is the whole new
    referral, as a form sends it). ``invalid-referral`` names fields only."""
    if not isinstance(patch, dict) or not patch:
        raise ProtocolError(
            "an amendment is a JSON object of the fields to change", code="invalid-referral"
        )
    row = await case_row(conn, ref)
    if row.status == "destroyed":
        raise HubError("the case was destroyed", code="key-destroyed")
    ring = await key_ring(conn, keys, ref)
    subjects = await _subjects(conn, ref)
    before = _document(row, ring, subjects, ref)
    after_doc = patch if whole else merge_patch(before, patch)
    referral = parse_referral(after_doc, today=now.date())
    after = referral.model_dump(mode="json", exclude_none=True)
    fields = changed_fields(before, after, (row.level, referral.level))
    if not fields:
        raise ProtocolError("the amendment changes nothing", code="invalid-referral")
    if "referral.referring_agency" in fields or "referral.criterion" in fields:
        await check_referral_rules(conn, referral, area)
    if referral.criterion == "repeat" and not row.is_repeat:
        raise ProtocolError(
            "invalid referral: criterion: repeat is decided by the hub at referral",
            code="invalid-referral",
        )
    version = int(
        await conn.scalar(
            select(func.max(referral_amendments.c.version)).where(
                referral_amendments.c.case_ref == ref
            )
        )
        or 1
    )
    version += 1
    await conn.execute(
        referral_amendments.insert().values(
            case_ref=ref,
            version=version,
            amended_at=now,
            amended_by=actor[:80],
            door=door,
            fields=",".join(fields)[:4000],
            previous=seal_field(ring, ref, f"amendment:{version}", before),
        )
    )
    await _store(conn, keys, ring, row, subjects, referral)
    return Amended(ref, version, fields)


async def _store(
    conn: AsyncConnection,
    keys: HubKeys,
    ring: DataKeyRing,
    row: Any,
    subjects: list[Any],
    referral: Referral,
) -> None:
    """Write the amended referral over the case's current one."""
    ref = row.ref
    last = row.last_referral_on
    if last == row.referred_on or last < referral.referred_on:
        last = referral.referred_on
    await conn.execute(
        update(cases)
        .where(cases.c.ref == ref)
        .values(
            referred_on=referral.referred_on,
            last_referral_on=last,
            referring_agency=referral.referring_agency,
            criterion=referral.criterion,
            tool=referral.risk.tool,
            yes_count=referral.risk.yes_count,
            level=referral.level,
            children_count=len(referral.children),
            perpetrator_must_not_know=referral.perpetrator_must_not_know,
            consent=referral.consent.status,
            answers=seal_field(ring, ref, "answers", list(referral.risk.answers)),
            referral_text=seal_field(
                ring,
                ref,
                "referral_text",
                {
                    "rationale": referral.rationale,
                    "consent_exception": referral.consent.exception,
                    "police_callouts_12m": referral.police_callouts_12m,
                },
            ),
            safe_contact=seal_field(
                ring, ref, "safe_contact", referral.safe_contact.model_dump(mode="json")
            ),
        )
    )
    by_role = {s.role: s for s in subjects if s.role in _PEOPLE}
    children = [s for s in subjects if s.role == "child"]
    people: list[tuple[str, Any, Any]] = [
        ("victim", referral.victim, by_role.get("victim")),
        ("perpetrator", referral.perpetrator, by_role.get("perpetrator")),
    ]
    people += [
        ("child", child, children[i] if i < len(children) else None)
        for i, child in enumerate(referral.children)
    ]
    for position, (role, person, existing) in enumerate(people):
        details = person.model_dump(mode="json", exclude_none=True)
        if not details.get("other_names", True):
            details.pop("other_names")
        subject_id = existing.subject_id if existing is not None else new_subject_id()
        values = {
            "role": role,
            "position": position,
            "match_key": match_key(keys, person.name, person.date_of_birth),
            "details": seal_field(ring, ref, f"subject:{subject_id}", details),
        }
        if existing is None:
            await conn.execute(
                case_subjects.insert().values(subject_id=subject_id, case_ref=ref, **values)
            )
        else:
            await conn.execute(
                update(case_subjects)
                .where(case_subjects.c.subject_id == subject_id)
                .values(**values)
            )
    for gone in children[len(referral.children) :]:
        await conn.execute(
            update(case_subjects)
            .where(case_subjects.c.subject_id == gone.subject_id)
            .values(role=REMOVED, position=-1 - int(gone.position))
        )


async def amendment_history(conn: AsyncConnection, ref: str) -> list[Amendment]:
    """Every amendment of the case, oldest first (field names, never values)."""
    await case_row(conn, ref)
    rows = await conn.execute(
        select(referral_amendments)
        .where(referral_amendments.c.case_ref == ref)
        .order_by(referral_amendments.c.version)
    )
    return [
        Amendment(
            r.version,
            r.amended_at,
            r.amended_by,
            r.door,
            tuple(f for f in r.fields.split(",") if f),
        )
        for r in rows
    ]
