"""Referrals in, cases out: one transaction per referral, person data only as ciphertext."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies.tables import agencies
from hub.cases.areas import Area, get_area
from hub.cases.casekeys import key_ring, new_case_key, store_case_key
from hub.cases.referral import Referral
from hub.cases.refs import CASE_REF, new_subject_id, next_case_ref
from hub.cases.repeats import find_previous, match_key
from hub.cases.tables import case_keys, case_subjects, cases
from hub.crypto.at_rest import DataKeyRing
from hub.hub_keys import HubKeys
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "Case",
    "CaseSummary",
    "Referred",
    "case_area",
    "case_row",
    "check_referral_rules",
    "find_subject_ids",
    "list_cases",
    "load_case",
    "mark_heard",
    "open_field",
    "refer",
    "seal_field",
    "set_hold",
]

_ANSWER = {"yes": True, "no": False, "not_known": None}


@dataclass(frozen=True, slots=True)
class Referred:
    """What a referral produced."""

    case_ref: str
    is_repeat: bool
    previous_ref: str | None
    yes_count: int
    level: str


@dataclass(frozen=True, slots=True)
class CaseSummary:
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

    def as_json(self) -> dict[str, Any]:
        """The summary as the API shows it."""
        return {
            "ref": self.ref,
            "area": self.area,
            "status": self.status,
            "referred_on": self.referred_on.isoformat(),
            "heard_on": self.heard_on.isoformat() if self.heard_on else None,
            "criterion": self.criterion,
            "is_repeat": self.is_repeat,
            "previous_ref": self.previous_ref,
            "level": self.level,
            "yes_count": self.yes_count,
            "has_children": self.has_children,
            "children_count": self.children_count,
            "perpetrator_must_not_know": self.perpetrator_must_not_know,
            "legal_hold": self.legal_hold,
            "destroyed": self.destroyed,
        }


@dataclass(frozen=True, slots=True)
class Case:
    """A decrypted case; ``view`` is shaped like ``hub.protocol.messages.CaseExtract``."""

    ref: str
    area: str
    status: str
    referred_on: date
    has_children: bool
    is_repeat: bool
    previous_ref: str | None
    perpetrator_must_not_know: bool
    consent: str
    subject_ids: tuple[str, ...]
    view: dict[str, Any]
    criteria: tuple[str, ...] = ()
    heard_on: date | None = None
    legal_hold: bool = False
    hold_reason: str | None = None


def seal_field(ring: DataKeyRing, ref: str, name: str, value: Any) -> bytes:
    """``value`` as JSON under the case key, bound to the case and the field ``name``."""
    return ring.encrypt(ref, name, json.dumps(value, separators=(",", ":")).encode())


def open_field(ring: DataKeyRing, ref: str, name: str, blob: bytes | None) -> Any:
    """What :func:`seal_field` sealed (``None`` for none)."""
    return None if blob is None else json.loads(ring.decrypt(ref, name, bytes(blob)))


async def check_referral_rules(conn: AsyncConnection, referral: Referral, area: Area) -> None:
    """Refuse (``invalid-referral``) an unknown referring agency, or a potential escalation
    below the area's call-out rule."""
    if not await conn.scalar(
        select(agencies.c.id).where(agencies.c.id == referral.referring_agency)
    ):
        raise ProtocolError(
            "invalid referral: referring_agency: no such agency", code="invalid-referral"
        )
    if (
        referral.criterion == "potential_escalation"
        and (referral.police_callouts_12m or 0) < area.escalation_callouts
    ):
        raise ProtocolError(
            "invalid referral: police_callouts_12m: below this area's potential-escalation "
            f"rule ({area.escalation_callouts} in 12 months)",
            code="invalid-referral",
        )


async def refer(
    conn: AsyncConnection,
    keys: HubKeys,
    referral: Referral,
    *,
    area: str,
    actor: str,
    now: datetime,
) -> Referred:
    """Record a referral in the caller's transaction: the case, its people, its key."""
    found = await get_area(conn, area)
    if found is None:
        raise HubError("no such area", code="not-found")
    await check_referral_rules(conn, referral, found)
    victim_key = match_key(keys, referral.victim.name, referral.victim.date_of_birth)
    perpetrator_key = match_key(keys, referral.perpetrator.name, referral.perpetrator.date_of_birth)
    previous = await find_previous(conn, victim_key, perpetrator_key, referral.referred_on)
    if referral.criterion == "repeat" and previous is None:
        raise ProtocolError(
            "invalid referral: criterion: repeat is decided by the hub, and this pair has no "
            "referral in the last 12 months",
            code="invalid-referral",
        )
    ref = await next_case_ref(conn, referral.referred_on.year)
    ring, wrapped = new_case_key(keys, ref)
    await conn.execute(
        cases.insert().values(
            ref=ref,
            area_id=area,
            referred_on=referral.referred_on,
            last_referral_on=referral.referred_on,
            created_at=now,
            created_by=actor[:64],
            referring_agency=referral.referring_agency,
            criterion=referral.criterion,
            is_repeat=previous is not None,
            previous_ref=previous,
            tool=referral.risk.tool,
            yes_count=referral.risk.yes_count,
            level=referral.level,
            children_count=len(referral.children),
            perpetrator_must_not_know=referral.perpetrator_must_not_know,
            consent=referral.consent.status,
            status="referred",
            legal_hold=False,
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
    await store_case_key(conn, ref, wrapped, now)
    people: list[tuple[str, Any, str | None]] = [
        ("victim", referral.victim, victim_key),
        ("perpetrator", referral.perpetrator, perpetrator_key),
    ]
    people += [
        ("child", child, match_key(keys, child.name, child.date_of_birth))
        for child in referral.children
    ]
    for position, (role, person, key) in enumerate(people):
        subject_id = new_subject_id()
        details = person.model_dump(mode="json", exclude_none=True)
        if not details.get("other_names", True):
            details.pop("other_names")
        await conn.execute(
            case_subjects.insert().values(
                subject_id=subject_id,
                case_ref=ref,
                role=role,
                position=position,
                match_key=key,
                details=seal_field(ring, ref, f"subject:{subject_id}", details),
            )
        )
    if previous is not None:
        await _extend_chain(conn, previous, referral.referred_on)
    return Referred(ref, previous is not None, previous, referral.risk.yes_count, referral.level)


async def _extend_chain(conn: AsyncConnection, ref: str | None, referred_on: date) -> None:
    """A repeat keeps its earlier cases: their last referral becomes this one's date."""
    seen: set[str] = set()
    while ref is not None and ref not in seen:
        seen.add(ref)
        await conn.execute(
            update(cases)
            .where(cases.c.ref == ref, cases.c.last_referral_on < referred_on)
            .values(last_referral_on=referred_on)
        )
        ref = await conn.scalar(select(cases.c.previous_ref).where(cases.c.ref == ref))


def _criteria(row: Any) -> tuple[str, ...]:
    extra = ("repeat",) if row.is_repeat and row.criterion != "repeat" else ()
    return (row.criterion, *extra)


async def case_row(conn: AsyncConnection, ref: str) -> Any:
    """The case's row (``not-found`` if none; ``malformed`` for a ref that is none)."""
    if not isinstance(ref, str) or not CASE_REF.match(ref):
        raise ProtocolError("a case ref looks like M-2026-0001")
    row = (await conn.execute(select(cases).where(cases.c.ref == ref))).first()
    if row is None:
        raise HubError("no such case", code="not-found")
    return row


async def case_area(conn: AsyncConnection, ref: str) -> str:
    """The area a case belongs to (``not-found`` if none)."""
    return str((await case_row(conn, ref)).area_id)


async def load_case(conn: AsyncConnection, keys: HubKeys, ref: str) -> Case:
    """The decrypted case (``key-destroyed`` once retention has shredded it)."""
    row = await case_row(conn, ref)
    ring = await key_ring(conn, keys, ref)
    subjects = (
        await conn.execute(
            select(case_subjects)
            .where(case_subjects.c.case_ref == ref, case_subjects.c.role != "removed")
            .order_by(case_subjects.c.position)
        )
    ).all()
    people: dict[str, Any] = {"victim": None, "perpetrator": None, "children": []}
    for s in subjects:
        person = {"subject_id": s.subject_id, "role": s.role}
        person.update(open_field(ring, ref, f"subject:{s.subject_id}", s.details))
        if s.role == "child":
            people["children"].append(person)
        else:
            people[s.role] = person
    answers = open_field(ring, ref, "answers", row.answers)
    text = open_field(ring, ref, "referral_text", row.referral_text)
    referral = {
        "criterion": row.criterion,
        "referring_agency": row.referring_agency,
        "referred_on": row.referred_on.isoformat(),
        "rationale": text["rationale"],
        "consent": row.consent,
        "consent_exception": text["consent_exception"],
    }
    view = {
        **people,
        "risk": {
            "tool": row.tool,
            "yes_count": row.yes_count,
            "level": row.level,
            "answers": [_ANSWER[a] for a in answers],
        },
        "referral": {k: v for k, v in referral.items() if v is not None},
        "safe_contact": {
            k: v
            for k, v in open_field(ring, ref, "safe_contact", row.safe_contact).items()
            if v is not None
        },
        "perpetrator_must_not_know": row.perpetrator_must_not_know,
    }
    hold = open_field(ring, ref, "hold_reason", row.hold_reason)
    return Case(
        ref=ref,
        area=row.area_id,
        status=row.status,
        referred_on=row.referred_on,
        has_children=row.children_count > 0,
        is_repeat=row.is_repeat,
        previous_ref=row.previous_ref,
        perpetrator_must_not_know=row.perpetrator_must_not_know,
        consent=row.consent,
        subject_ids=tuple(s.subject_id for s in subjects),
        view=view,
        criteria=_criteria(row),
        heard_on=row.heard_on,
        legal_hold=row.legal_hold,
        hold_reason=hold,
    )


async def list_cases(
    conn: AsyncConnection, area: str, status: str | None = None
) -> list[CaseSummary]:
    """An area's cases, children's cases first, then by referral date (nothing decrypted)."""
    query = select(cases, case_keys.c.wrapped).join(case_keys, case_keys.c.case_ref == cases.c.ref)
    query = query.where(cases.c.area_id == area)
    if status is not None:
        query = query.where(cases.c.status == status)
    rows = (await conn.execute(query.order_by(cases.c.referred_on, cases.c.ref))).all()
    out = [
        CaseSummary(
            ref=r.ref,
            area=r.area_id,
            status=r.status,
            referred_on=r.referred_on,
            heard_on=r.heard_on,
            criterion=r.criterion,
            is_repeat=r.is_repeat,
            previous_ref=r.previous_ref,
            level=r.level,
            yes_count=r.yes_count,
            has_children=r.children_count > 0,
            children_count=r.children_count,
            perpetrator_must_not_know=r.perpetrator_must_not_know,
            legal_hold=r.legal_hold,
            destroyed=r.wrapped is None,
        )
        for r in rows
    ]
    return sorted(out, key=lambda c: not c.has_children)


async def find_subject_ids(
    conn: AsyncConnection, keys: HubKeys, name: str, date_of_birth: date | None
) -> list[str]:
    """Every subject id, in any case and role, whose name and date of birth match."""
    key = match_key(keys, name, date_of_birth)
    rows = await conn.execute(
        select(case_subjects.c.subject_id)
        .where(case_subjects.c.match_key == key)
        .order_by(case_subjects.c.case_ref, case_subjects.c.position)
    )
    return [r.subject_id for r in rows]


async def mark_heard(conn: AsyncConnection, ref: str, meeting_date: date) -> None:
    """Record that a meeting heard the case on ``meeting_date`` (the SafeLives return counts it)."""
    await case_row(conn, ref)
    await conn.execute(
        update(cases).where(cases.c.ref == ref).values(heard_on=meeting_date, status="heard")
    )


async def set_hold(conn: AsyncConnection, keys: HubKeys, ref: str, reason: str | None) -> None:
    """Put a case on legal hold with ``reason`` (kept under the case key), or release it (None)."""
    await case_row(conn, ref)
    if reason is None:
        values: dict[str, Any] = {"legal_hold": False, "hold_reason": None}
    else:
        reason = reason.strip()
        if not reason or len(reason) > 2000:
            raise ProtocolError("a hold reason is 1-2000 characters")
        ring = await key_ring(conn, keys, ref)
        values = {"legal_hold": True, "hold_reason": seal_field(ring, ref, "hold_reason", reason)}
    await conn.execute(update(cases).where(cases.c.ref == ref).values(**values))
