"""Lawful-basis records: what a disclosure relies on, versioned, with the MARAC defaults.

Adding a basis with an existing id makes a new version; the current version of an id is
its newest version that is not retired. Retiring an id retires every version of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.policy.fields import CATEGORIES, PURPOSES
from hub.policy.tables import lawful_bases
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "DEFAULT_BASES",
    "DEFAULT_BASIS_IDS",
    "Basis",
    "BasisSpec",
    "add_basis",
    "basis_history",
    "basis_ids",
    "basis_row",
    "current_basis",
    "list_bases",
    "parse_basis_spec",
    "retire_basis",
]

BasisId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Legal = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Art6 = Annotated[str, StringConstraints(pattern=r"^6\(1\)\([a-f]\)$")]
Art9 = Annotated[str, StringConstraints(pattern=r"^9\(2\)\([a-j]\)( .{1,180})?$")]


class BasisSpec(BaseModel):
    """What an area writes to add a basis or a new version of one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: BasisId
    title: Legal
    art6: Art6
    art9: Art9 | None = None
    art10: Legal | None = None
    dpa_schedule1: Legal | None = None
    gateway: Legal | None = None
    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]

    @model_validator(mode="after")
    def _coherent(self) -> BasisSpec:
        if not self.purposes or not set(self.purposes) <= set(PURPOSES):
            raise ValueError(f"purposes must be some of {', '.join(PURPOSES)}")
        if not self.data_categories or not set(self.data_categories) <= set(CATEGORIES):
            raise ValueError(f"data_categories must be some of {', '.join(CATEGORIES)}")
        if "special_category" in self.data_categories and not (self.art9 and self.dpa_schedule1):
            raise ValueError("special category data needs an Art. 9 and a Schedule 1 condition")
        if "offence" in self.data_categories and not (self.art10 and self.dpa_schedule1):
            raise ValueError("offence data needs an Art. 10 and a Schedule 1 condition")
        return self


@dataclass(frozen=True, slots=True)
class Basis:
    """One version of a lawful-basis record."""

    id: str
    version: int
    title: str
    art6: str
    art9: str | None
    art10: str | None
    dpa_schedule1: str | None
    gateway: str | None
    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]
    created_at: datetime
    created_by: str
    retired_at: datetime | None = None
    retired_by: str | None = None

    def references(self) -> str:
        """The legal references, on one line."""
        parts = [f"UK GDPR Art. {self.art6}"]
        if self.art9:
            parts.append(f"Art. {self.art9}")
        if self.art10:
            parts.append(self.art10)
        if self.dpa_schedule1:
            parts.append(self.dpa_schedule1)
        if self.gateway:
            parts.append(self.gateway)
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "art6": self.art6,
            "art9": self.art9,
            "art10": self.art10,
            "dpa_schedule1": self.dpa_schedule1,
            "gateway": self.gateway,
            "purposes": list(self.purposes),
            "data_categories": list(self.data_categories),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "retired_by": self.retired_by,
        }


_ALL_PURPOSES: Final = list(PURPOSES)
_OFFENCE_VIA_PARA_36: Final = "UK GDPR Art. 10 with DPA 2018 s.10(5)"

DEFAULT_BASES: Final[tuple[dict[str, Any], ...]] = (
    {
        "id": "public-task",
        "title": "Public task: the statutory functions of the partner agencies",
        "art6": "6(1)(e)",
        "purposes": _ALL_PURPOSES,
        "data_categories": ["identity", "contact", "risk", "referral"],
    },
    {
        "id": "safeguarding",
        "title": "Safeguarding of children and individuals at risk",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": _OFFENCE_VIA_PARA_36,
        "dpa_schedule1": "DPA 2018 Sch. 1 para 18 (with para 36 for offence data)",
        "purposes": _ALL_PURPOSES,
        "data_categories": list(CATEGORIES),
    },
    {
        "id": "cda-1998-s115",
        "title": "Crime and Disorder Act 1998 s.115: disclosure for crime reduction",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": _OFFENCE_VIA_PARA_36,
        "dpa_schedule1": "DPA 2018 Sch. 1 para 10 (with para 36 for offence data)",
        "gateway": "Crime and Disorder Act 1998 s.115",
        "purposes": _ALL_PURPOSES,
        "data_categories": list(CATEGORIES),
    },
    {
        "id": "children-act-2004-s11",
        "title": "Children Act 2004 s.11: duty to safeguard and promote the welfare of children",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": _OFFENCE_VIA_PARA_36,
        "dpa_schedule1": "DPA 2018 Sch. 1 para 18 (with para 36 for offence data)",
        "gateway": "Children Act 2004 s.11",
        "purposes": _ALL_PURPOSES,
        "data_categories": list(CATEGORIES),
    },
    {
        "id": "care-act-2014",
        "title": "Care Act 2014 s.6 (co-operation) and s.42 (adults at risk enquiries)",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": _OFFENCE_VIA_PARA_36,
        "dpa_schedule1": "DPA 2018 Sch. 1 para 18 (with para 36 for offence data)",
        "gateway": "Care Act 2014 s.6 and s.42",
        "purposes": _ALL_PURPOSES,
        "data_categories": list(CATEGORIES),
    },
    {
        "id": "offence-data",
        "title": "Criminal offence data: alleged perpetrators of domestic abuse",
        "art6": "6(1)(e)",
        "art10": _OFFENCE_VIA_PARA_36,
        "dpa_schedule1": "DPA 2018 Sch. 1 paras 10 and 18 (via para 36)",
        "purposes": _ALL_PURPOSES,
        "data_categories": ["identity", "contact", "offence", "risk", "referral"],
    },
)
"""The lawful bases every new hub starts with (seeded by migration 0003 as version 1)."""

DEFAULT_BASIS_IDS: Final = frozenset(b["id"] for b in DEFAULT_BASES)


def parse_basis_spec(doc: object) -> BasisSpec:
    """Validate a basis document; errors name fields, never values."""
    try:
        return BasisSpec.model_validate(doc)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(basis)'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise ProtocolError(f"invalid lawful basis: {where}") from None


def _basis(row: Any) -> Basis:
    return Basis(
        row.id,
        row.version,
        row.title,
        row.art6,
        row.art9,
        row.art10,
        row.dpa_schedule1,
        row.gateway,
        tuple(json.loads(row.purposes)),
        tuple(json.loads(row.data_categories)),
        row.created_at,
        row.created_by,
        row.retired_at,
        row.retired_by,
    )


def basis_row(
    spec: BasisSpec | dict[str, Any], version: int, by: str, now: datetime
) -> dict[str, Any]:
    """The table row for ``spec`` as ``version``."""
    s = spec if isinstance(spec, BasisSpec) else BasisSpec.model_validate(spec)
    return {
        **s.model_dump(exclude={"purposes", "data_categories"}),
        "version": version,
        "purposes": json.dumps(sorted(s.purposes)),
        "data_categories": json.dumps(sorted(s.data_categories)),
        "created_at": now,
        "created_by": by,
    }


async def add_basis(conn: AsyncConnection, spec: BasisSpec, *, by: str, now: datetime) -> Basis:
    """Add ``spec`` as the newest version of its id (version 1 for a new id)."""
    newest = await conn.scalar(
        select(func.max(lawful_bases.c.version)).where(lawful_bases.c.id == spec.id)
    )
    version = (newest or 0) + 1
    await conn.execute(lawful_bases.insert().values(**basis_row(spec, version, by, now)))
    row = (
        await conn.execute(
            select(lawful_bases).where(
                lawful_bases.c.id == spec.id, lawful_bases.c.version == version
            )
        )
    ).one()
    return _basis(row)


async def current_basis(conn: AsyncConnection, basis_id: str) -> Basis | None:
    """The newest version of ``basis_id`` that is not retired."""
    row = (
        await conn.execute(
            select(lawful_bases)
            .where(lawful_bases.c.id == basis_id, lawful_bases.c.retired_at.is_(None))
            .order_by(lawful_bases.c.version.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else _basis(row)


async def basis_history(conn: AsyncConnection, basis_id: str) -> list[Basis]:
    """Every version of ``basis_id``, newest first."""
    rows = await conn.execute(
        select(lawful_bases)
        .where(lawful_bases.c.id == basis_id)
        .order_by(lawful_bases.c.version.desc())
    )
    return [_basis(r) for r in rows]


async def list_bases(conn: AsyncConnection, *, include_retired: bool = False) -> list[Basis]:
    """The newest version of every id (current ones only unless ``include_retired``)."""
    rows = (
        await conn.execute(
            select(lawful_bases).order_by(lawful_bases.c.id, lawful_bases.c.version.desc())
        )
    ).all()
    newest: dict[str, Basis] = {}
    for row in rows:
        newest.setdefault(row.id, _basis(row))
    return [b for b in newest.values() if include_retired or b.retired_at is None]


async def retire_basis(conn: AsyncConnection, basis_id: str, *, by: str, now: datetime) -> int:
    """Retire every version of ``basis_id``; returns how many versions were retired."""
    if not await basis_history(conn, basis_id):
        raise HubError(f"no lawful basis {basis_id}", code="not-found")
    done = await conn.execute(
        update(lawful_bases)
        .where(lawful_bases.c.id == basis_id, lawful_bases.c.retired_at.is_(None))
        .values(retired_at=now, retired_by=by)
    )
    if done.rowcount == 0:
        raise HubError(f"lawful basis {basis_id} is already retired", code="conflict")
    return int(done.rowcount)


async def basis_ids(conn: AsyncConnection, *, current_only: bool = False) -> frozenset[str]:
    """Every basis id the database knows (only those with a current version if asked)."""
    query = select(lawful_bases.c.id).distinct()
    if current_only:
        query = query.where(lawful_bases.c.retired_at.is_(None))
    return frozenset((await conn.scalars(query)).all())
