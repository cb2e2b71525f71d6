"""The quarterly SafeLives return: meeting-level counts per area, as CSV.

A case counts in the quarter of the meeting that heard it (``heard_on``) or, until it is
heard, in the quarter of its referral. Rows are ``area,quarter,measure,category,count``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies.tables import agencies
from hub.cases.areas import list_areas
from hub.cases.casekeys import key_ring
from hub.cases.tables import case_subjects, cases
from hub.hub_keys import HubKeys
from hub.protocol.errors import CryptoError, HubError, ProtocolError

__all__ = ["AGE_BANDS", "Quarter", "age_band", "parse_quarter", "safelives_csv"]

_QUARTER: Final = re.compile(r"^(\d{4})Q([1-4])$")
EQUALITY: Final = ("gender", "ethnicity", "disability", "sexual_orientation")
AGE_BANDS: Final = (
    (16, "under_16"),
    (18, "16_17"),
    (21, "18_20"),
    (31, "21_30"),
    (41, "31_40"),
    (51, "41_50"),
    (61, "51_60"),
    (71, "61_70"),
)


@dataclass(frozen=True, slots=True)
class Quarter:
    """A calendar quarter such as 2026Q3."""

    year: int
    number: int

    @property
    def first(self) -> date:
        """Its first day."""
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def after(self) -> date:
        """The first day of the next quarter."""
        return (
            date(self.year + 1, 1, 1)
            if self.number == 4
            else date(self.year, 3 * self.number + 1, 1)
        )

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def parse_quarter(value: str) -> Quarter:
    """``2026Q3`` → Quarter; anything else is refused."""
    match = _QUARTER.match(value) if isinstance(value, str) else None
    if match is None or not 2000 <= int(match[1]) <= 2100:
        raise ProtocolError("a quarter looks like 2026Q3 (year 2000-2100, quarter 1-4)")
    return Quarter(int(match[1]), int(match[2]))


def age_band(born: date | None, on: date) -> str:
    """The SafeLives age band of someone born on ``born``, on ``on``."""
    if born is None:
        return "not_known"
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for limit, band in AGE_BANDS:
        if age < limit:
            return band
    return "71_plus"


def _category(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return "not_known"
    return "_".join(value.casefold().split())


async def _victim(conn: AsyncConnection, keys: HubKeys, ref: str) -> dict[str, Any]:
    """The victim's decrypted details, or ``{}`` once the case key is destroyed."""
    row = (
        await conn.execute(
            select(case_subjects.c.subject_id, case_subjects.c.details).where(
                case_subjects.c.case_ref == ref, case_subjects.c.role == "victim"
            )
        )
    ).first()
    try:
        ring = await key_ring(conn, keys, ref)
    except CryptoError:
        return {}
    if row is None or row.details is None:
        return {}
    details: dict[str, Any] = json.loads(
        ring.decrypt(ref, f"subject:{row.subject_id}", bytes(row.details))
    )
    return details


async def _counts(
    conn: AsyncConnection, keys: HubKeys, area: str, quarter: Quarter
) -> list[tuple[str, str, int]]:
    counted = func.coalesce(cases.c.heard_on, cases.c.referred_on)
    rows = (
        await conn.execute(
            select(cases, agencies.c.kind)
            .join(agencies, agencies.c.id == cases.c.referring_agency)
            .where(
                cases.c.area_id == area,
                counted >= quarter.first,
                counted < quarter.after,
            )
            .order_by(cases.c.ref)
        )
    ).all()
    tally: Counter[tuple[str, str]] = Counter()
    for row in rows:
        tally["cases", "total"] += 1
        tally["repeats", "total"] += row.is_repeat
        tally["referrals_by_source", row.kind] += 1
        tally["police_referrals" if row.kind == "police" else "non_police_referrals", "total"] += 1
        tally["cases_with_children", "total"] += row.children_count > 0
        tally["children", "total"] += row.children_count
        victim = await _victim(conn, keys, row.ref)
        for name in EQUALITY:
            tally[f"victim_{name}", _category(victim.get(name))] += 1
        born = victim.get("date_of_birth")
        tally[
            "victim_age_band", age_band(date.fromisoformat(born) if born else None, row.referred_on)
        ] += 1
    fixed = [
        "cases",
        "repeats",
        "police_referrals",
        "non_police_referrals",
        "cases_with_children",
        "children",
    ]
    out = [(m, "total", tally[m, "total"]) for m in fixed]
    out += sorted((m, c, n) for (m, c), n in tally.items() if c != "total")
    return out


async def safelives_csv(
    conn: AsyncConnection, keys: HubKeys, quarter: Quarter, area: str | None = None
) -> str:
    """The return for ``quarter`` (every area, or one) as CSV text."""
    found = await list_areas(conn, None if area is None else {area})
    if area is not None and not found:
        raise HubError("no such area", code="not-found")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["area", "quarter", "measure", "category", "count"])
    for each in found:
        for measure, category, count in await _counts(conn, keys, each.id, quarter):
            writer.writerow([each.id, str(quarter), measure, category, count])
    return out.getvalue()
