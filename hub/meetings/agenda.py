"""Publishing a meeting's agenda and its research requests to the agencies serving the area.

Each serving agency is sent, through ``disclose``:

* one ``Agenda`` (purpose ``agenda``): one projection per case, children's cases first,
  and the actions carried forward (incomplete actions of the area's earlier meetings):
  each with its id, case, owner, due date and status, and its free text (description,
  reason) only where the policy's decision allows (``carried_forward.*``; by default to
  the agency owning the action and to the IDVA);
* one ``ResearchRequest`` per case (purpose ``research_request``), respond by two
  working days before the meeting unless the coordinator says otherwise.

Agencies that are not active, have not signed the current ISP or have no lawful basis
receive nothing; ``disclose`` logs each refusal. ``agenda_deliveries`` and
``research_requests`` record what each agency was sent (or had held for review), so
publishing again (a late addition) sends each agency only the cases it has not had: an
agenda of just those cases (at their positions in the whole agenda) and their research
requests. An agency refused before is tried again, and is refused (and logged) again
unless its standing changed. Carried-forward actions travel with an agency's first
agenda of the meeting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from ulid import ULID

from hub.agencies import Agency, get_agencies
from hub.cases import Case, agencies_serving, load_case
from hub.disclosure import DisclosureRequest
from hub.hub_keys import HubKeys
from hub.meetings.actions import Action, incomplete_before
from hub.meetings.listing import Listed, agenda
from hub.meetings.meetings import Meeting
from hub.meetings.rules import working_days_before
from hub.meetings.sending import SendResult, send_many
from hub.meetings.tables import agenda_deliveries, meetings, research_requests
from hub.policy import Decision
from hub.protocol.errors import ProtocolError
from hub.protocol.messages import (
    Agenda,
    AgendaItem,
    PersonDetails,
    ResearchRequest,
)

__all__ = ["Published", "publish"]

RESPOND_WORKING_DAYS = 2


@dataclass
class Published:
    """What one publication sent: per agency, the agenda's outcome and its requests."""

    meeting_id: str
    respond_by: date
    agendas: list[tuple[SendResult, list[str]]] = field(default_factory=list)
    requests: list[tuple[SendResult, str]] = field(default_factory=list)

    @property
    def recipients(self) -> set[str]:
        """Agencies sent something now (their long-polls are woken after commit)."""
        return {o.agency for o, _ in self.agendas if o.kind == "disclosed"} | {
            o.agency for o, _ in self.requests if o.kind == "disclosed"
        }

    def as_json(self) -> dict[str, Any]:
        """The report as the API shows it: ids, refs and codes only."""
        return {
            "meeting_id": self.meeting_id,
            "respond_by": self.respond_by.isoformat(),
            "agendas": [{**o.as_json(), "cases": refs} for o, refs in self.agendas],
            "research_requests": [{**o.as_json(), "case_ref": ref} for o, ref in self.requests],
        }


def _person(value: Any) -> PersonDetails | None:
    return PersonDetails.model_validate(value) if value else None


def _item(listed: Listed, view: dict[str, Any]) -> AgendaItem:
    children = view.get("children")
    return AgendaItem(
        case_ref=listed.case.ref,
        position=listed.position or 1,
        victim=_person(view.get("victim")),
        perpetrator=_person(view.get("perpetrator")),
        children=tuple(PersonDetails.model_validate(c) for c in children) if children else None,
        has_children=listed.case.has_children,
        is_repeat=listed.case.is_repeat,
    )


def _subjects(view: dict[str, Any]) -> tuple[PersonDetails, ...]:
    people = [view.get("victim"), view.get("perpetrator"), *(view.get("children") or [])]
    found = tuple(PersonDetails.model_validate(p) for p in people if p)
    if not found:
        raise ProtocolError("the policy lets this agency see no subject of the case")
    return found


async def _refs_by_agency(
    conn: AsyncConnection, table: Any, meeting_id: str
) -> dict[str, set[str]]:
    """For each agency, the case refs ``table`` records as sent to it for the meeting."""
    rows = await conn.execute(
        select(table.c.agency_id, table.c.case_ref).where(table.c.meeting_id == meeting_id)
    )
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(r.agency_id, set()).add(r.case_ref)
    return found


@dataclass
class _Plan:
    """The batch of disclosures one publication makes, with what to record of each."""

    requests: list[DisclosureRequest] = field(default_factory=list)
    agendas: list[tuple[int, list[str]]] = field(default_factory=list)  # (request, case refs)
    research: list[tuple[int, str, str]] = field(default_factory=list)  # (request, ref, id)


async def publish(
    conn: AsyncConnection,
    ctx: Any,
    keys: HubKeys,
    meeting: Meeting,
    *,
    actor: str,
    now: datetime,
    respond_by: date | None = None,
) -> Published:
    """Send the agenda and research requests not yet sent, in ``conn``'s transaction.

    Every disclosure of the publication is one batch (``send_many``): the recipients'
    standing is read once, and the outbox rows and log entries are written together.
    ``actor`` is the log's name for the member of staff publishing.
    """
    meeting.require_open()
    listed = await agenda(conn, meeting)
    if not listed:
        raise ProtocolError("the agenda is empty: add cases first")
    respond_by = respond_by or working_days_before(meeting.meeting_date, RESPOND_WORKING_DAYS)
    cases = {entry.case.ref: await load_case(conn, keys, entry.case.ref) for entry in listed}
    carried = await incomplete_before(conn, keys, meeting)
    carried_cases = {a.case_ref: await load_case(conn, keys, a.case_ref) for a in carried}
    serving = await agencies_serving(conn, meeting.area.id)
    found = await get_agencies(conn, serving)
    sent = await _refs_by_agency(conn, agenda_deliveries, meeting.id)
    requested = await _refs_by_agency(conn, research_requests, meeting.id)
    plan = _Plan()
    for agency in (found[agency_id] for agency_id in serving if agency_id in found):
        had = sent.get(agency.id, set())
        new = [entry for entry in listed if entry.case.ref not in had]
        if new:
            plan.agendas.append((len(plan.requests), [e.case.ref for e in new]))
            plan.requests.append(
                _agenda_request(
                    actor, meeting, agency, new, cases, [] if had else carried, carried_cases
                )
            )
        asked = requested.get(agency.id, set())
        for entry in listed:
            if entry.case.ref not in asked:
                request_id = str(ULID.from_datetime(now))
                plan.research.append((len(plan.requests), entry.case.ref, request_id))
                plan.requests.append(
                    _research_request(
                        actor, meeting, agency, cases[entry.case.ref], respond_by, request_id
                    )
                )
    outcomes = await send_many(conn, ctx, plan.requests)
    report = Published(meeting.id, respond_by)
    report.agendas = [(outcomes[i], refs) for i, refs in plan.agendas]
    report.requests = [(outcomes[i], ref) for i, ref, _ in plan.research]
    await _record(conn, meeting, plan, outcomes, respond_by, now)
    if meeting.published_at is None:
        await conn.execute(
            update(meetings).where(meetings.c.id == meeting.id).values(published_at=now)
        )
    return report


async def _record(
    conn: AsyncConnection,
    meeting: Meeting,
    plan: _Plan,
    outcomes: list[SendResult],
    respond_by: date,
    now: datetime,
) -> None:
    """Keep what each agency was sent (or had held), so a later publication skips it."""
    deliveries = [
        {
            "meeting_id": meeting.id,
            "agency_id": outcomes[i].agency,
            "case_ref": ref,
            "outcome": outcomes[i].kind,
            "reference": outcomes[i].reference,
            "sent_at": now,
        }
        for i, refs in plan.agendas
        if outcomes[i].sent
        for ref in refs
    ]
    asked = [
        {
            "id": request_id,
            "meeting_id": meeting.id,
            "case_ref": ref,
            "agency_id": outcomes[i].agency,
            "respond_by": respond_by,
            "outcome": outcomes[i].kind,
            "reference": outcomes[i].reference,
            "sent_at": now,
        }
        for i, ref, request_id in plan.research
        if outcomes[i].sent
    ]
    if deliveries:
        await conn.execute(agenda_deliveries.insert(), deliveries)
    if asked:
        await conn.execute(research_requests.insert(), asked)


def _agenda_request(
    actor: str,
    meeting: Meeting,
    agency: Agency,
    new: list[Listed],
    cases: dict[str, Case],
    carried: list[Action],
    carried_cases: dict[str, Case],
) -> DisclosureRequest:
    concerned = [cases[e.case.ref] for e in new]
    concerned += [c for ref, c in carried_cases.items() if ref not in cases and carried]

    def build(projections: list[dict[str, Any]], decision: Decision) -> Agenda:
        return Agenda(
            meeting_id=meeting.id,
            area=meeting.area.id,
            meeting_date=meeting.meeting_date,
            location=meeting.location,
            items=tuple(_item(e, view) for e, view in zip(new, projections, strict=False)),
            carried_forward=tuple(
                a.summary(decision, "carried_forward", agency.id) for a in carried
            ),
        )

    return DisclosureRequest(
        purpose="agenda",
        agency=agency,
        cases=concerned,
        build=build,
        actor=actor,
        meeting_id=meeting.id,
    )


def _research_request(
    actor: str,
    meeting: Meeting,
    agency: Agency,
    case: Case,
    respond_by: date,
    request_id: str,
) -> DisclosureRequest:
    def build(projections: list[dict[str, Any]], _decision: Any) -> ResearchRequest:
        return ResearchRequest(
            request_id=request_id,
            case_ref=case.ref,
            meeting_id=meeting.id,
            respond_by=respond_by,
            subjects=_subjects(projections[0] if projections else {}),
        )

    return DisclosureRequest(
        purpose="research_request",
        agency=agency,
        cases=[case],
        build=build,
        actor=actor,
        meeting_id=meeting.id,
    )
