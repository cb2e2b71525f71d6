"""Use-cases for meetings: schedule, list, show, the agenda, attendance, publication,
research and minutes (actions are in :mod:`hub.app.actions`).

Coordinators of the meeting's area and admins change a meeting; a DPO reads the
pseudonymous lists (meetings, an agenda, candidates) and nothing decrypted. Everything
sent to an agency passes the disclosure policy, free text included (``hub.policy``);
reading decrypted research is logged as an ``access`` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import hub.meetings.inbound_handlers  # noqa: F401 - registers research_response, action_update
from hub.agencies import Agency, get_agency
from hub.app.access import record_access
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, WRITERS, use_case
from hub.app.rules import require_area, require_serves
from hub.app.runtime import Runtime
from hub.cases import agencies_serving, load_case
from hub.cases.areas import Area, list_areas
from hub.meetings import actions as action_ops
from hub.meetings import meetings as meeting_ops
from hub.meetings.actions import Action
from hub.meetings.agenda import Published, publish
from hub.meetings.changes import cancel_and_tell, move_and_tell
from hub.meetings.listing import Listed, agenda, candidates
from hub.meetings.meetings import ATTENDANCE, Meeting
from hub.meetings.minutes import parse_minutes
from hub.meetings.minutes import send_minutes as seal_minutes
from hub.meetings.research import compile_research
from hub.meetings.rules import ACTION_STATUSES
from hub.meetings.sending import SendResult
from hub.policy.projection import project
from hub.protocol.errors import ProtocolError

__all__ = [
    "ACTION_STATUSES",
    "ATTENDANCE",
    "Listed",
    "Meeting",
    "MeetingChanged",
    "MeetingPage",
    "MeetingView",
    "SendResult",
    "Published",
    "add_case",
    "cancel_meeting",
    "create_meeting",
    "list_meetings",
    "meeting_candidates",
    "meeting_page",
    "meetings_overview",
    "move_meeting",
    "parse_minutes",
    "publish_agenda",
    "record_attendance",
    "remove_case",
    "research",
    "send_minutes",
    "show_meeting",
]


@dataclass(frozen=True, slots=True)
class MeetingView:
    """A meeting with its agenda (in order, with clocks) and attendance: no personal data."""

    meeting: Meeting
    agenda: list[Listed]
    attendance: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        """The meeting as the API shows it."""
        return {
            **self.meeting.as_json(),
            "agenda": [entry.as_json() for entry in self.agenda],
            "attendance": self.attendance,
        }


async def _meeting(conn: Any, actor: Actor, meeting_id: str, *, write: bool) -> Meeting:
    """The meeting, if ``actor`` may read (or, ``write``, change) its area."""
    meeting = await meeting_ops.get_meeting(conn, meeting_id)
    await require_area(conn, actor, meeting.area.id, write=write)
    return meeting


async def _view(conn: Any, meeting: Meeting) -> MeetingView:
    return MeetingView(
        meeting, await agenda(conn, meeting), await meeting_ops.attendance_of(conn, meeting.id)
    )


@use_case("meeting.create", *WRITERS)
async def create_meeting(
    rt: Runtime, actor: Actor, area: str, meeting_date: date, location: str | None = None
) -> Meeting:
    """Schedule a meeting of ``area`` (a coordinator of the area, or an admin)."""
    if not isinstance(meeting_date, date):
        raise ProtocolError("date must be a date (YYYY-MM-DD)")
    async with rt.engine.begin() as conn:
        found = await require_area(conn, actor, area, write=True)
        return await meeting_ops.create_meeting(
            conn, found, meeting_date, location, by=actor.name, now=rt.clock()
        )


@use_case("meeting.list", *ANY_STAFF)
async def list_meetings(rt: Runtime, actor: Actor, area: str) -> list[Meeting]:
    """An area's meetings, newest first (DPOs may read)."""
    async with rt.engine.connect() as conn:
        return await meeting_ops.meetings_of(conn, await require_area(conn, actor, area))


@use_case("meeting.overview", *WRITERS)
async def meetings_overview(rt: Runtime, actor: Actor) -> list[tuple[Area, list[Meeting]]]:
    """Every meeting of the areas ``actor`` works in (an admin: every area), by area."""
    async with rt.engine.connect() as conn:
        only = set(actor.areas or ()) if actor.role != "admin" else None
        return [(a, await meeting_ops.meetings_of(conn, a)) for a in await list_areas(conn, only)]


@use_case("meeting.show", *ANY_STAFF)
async def show_meeting(rt: Runtime, actor: Actor, meeting_id: str) -> MeetingView:
    """A meeting, its agenda and attendance (pseudonymous: DPOs may read)."""
    async with rt.engine.connect() as conn:
        return await _view(conn, await _meeting(conn, actor, meeting_id, write=False))


@use_case("meeting.candidates", *ANY_STAFF)
async def meeting_candidates(rt: Runtime, actor: Actor, meeting_id: str) -> list[Listed]:
    """The area's referred cases not yet heard, children's first, with clocks."""
    async with rt.engine.connect() as conn:
        return await candidates(conn, await _meeting(conn, actor, meeting_id, write=False))


@use_case("meeting.add-case", *WRITERS)
async def add_case(rt: Runtime, actor: Actor, meeting_id: str, case_ref: str) -> MeetingView:
    """Put a case of the meeting's area on its agenda."""
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        await meeting_ops.add_case(conn, meeting, case_ref, by=actor.name, now=rt.clock())
        return await _view(conn, meeting)


@use_case("meeting.remove-case", *WRITERS)
async def remove_case(rt: Runtime, actor: Actor, meeting_id: str, case_ref: str) -> MeetingView:
    """Take a case off the agenda."""
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        await meeting_ops.remove_case(conn, meeting, case_ref)
        return await _view(conn, meeting)


@use_case("meeting.attendance", *WRITERS)
async def record_attendance(
    rt: Runtime, actor: Actor, meeting_id: str, marks: Mapping[str, str]
) -> MeetingView:
    """Record ``{agency: attended | apologies}`` for the meeting, in one transaction.

    Only agencies serving the meeting's area (``recipient-outside-area``): the minutes go
    to those recorded as attending.
    """
    now = rt.clock()
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        known = [a for a in marks if isinstance(a, str) and await get_agency(conn, a) is not None]
        await require_serves(conn, known, meeting.area.id)
        for agency_id, status in marks.items():
            await meeting_ops.set_attendance(
                conn, meeting, agency_id, status, by=actor.name, now=now
            )
        return await _view(conn, meeting)


@use_case("meeting.publish", *WRITERS)
async def publish_agenda(
    rt: Runtime, actor: Actor, meeting_id: str, respond_by: date | None = None
) -> Published:
    """Send the agenda and research requests not yet sent to the agencies serving the area
    (each through the policy: carried-forward free text only where it allows)."""
    now = rt.clock()
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        report = await publish(
            conn,
            rt.context(now),
            rt.keys,
            meeting,
            actor=actor.log_name,
            now=now,
            respond_by=respond_by,
        )
    rt.wake(report.recipients)
    return report


@dataclass(frozen=True, slots=True)
class MeetingChanged:
    """A meeting cancelled or moved, and what came of telling each agency sent its agenda."""

    meeting: Meeting
    told: list[SendResult]

    def as_json(self) -> dict[str, Any]:
        """The change as the API shows it: the meeting and each notice's outcome."""
        return {**self.meeting.as_json(), "told": [o.as_json() for o in self.told]}


@use_case("meeting.cancel", *WRITERS)
async def cancel_meeting(rt: Runtime, actor: Actor, meeting_id: str) -> MeetingChanged:
    """Cancel a meeting (not once cancelled or minuted: ``meeting-closed``) and tell each
    agency sent its agenda by a sealed notice; it can no longer be published or minuted."""
    now = rt.clock()
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        changed, told = await cancel_and_tell(
            conn, rt.context(now), meeting, by=actor.name, actor=actor.log_name, now=now
        )
    rt.wake(o.agency for o in told if o.kind == "disclosed")
    return MeetingChanged(changed, told)


@use_case("meeting.move", *WRITERS)
async def move_meeting(
    rt: Runtime, actor: Actor, meeting_id: str, meeting_date: date, location: str | None = None
) -> MeetingChanged:
    """Move an open meeting to another date (today or later) and optionally place; its
    agenda stays; each agency sent the agenda is told by a sealed notice."""
    if not isinstance(meeting_date, date):
        raise ProtocolError("date must be a date (YYYY-MM-DD)")
    now = rt.clock()
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        changed, told = await move_and_tell(
            conn, rt.context(now), meeting, meeting_date, location, actor=actor.log_name, now=now
        )
    rt.wake(o.agency for o in told if o.kind == "disclosed")
    return MeetingChanged(changed, told)


@use_case("meeting.research", *WRITERS)
async def research(rt: Runtime, actor: Actor, meeting_id: str) -> dict[str, Any]:
    """The research compiled per agenda case (decrypted: logged as an access entry)."""
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        doc = await compile_research(conn, rt.keys, meeting)
        refs = [c["case_ref"] for c in doc["cases"] if c["responses"]]
        await record_access(conn, actor, refs, purpose="view", what=["research"], now=rt.clock())
    return doc


@use_case("meeting.minutes", *WRITERS)
async def send_minutes(
    rt: Runtime, actor: Actor, meeting_id: str, discussions: Mapping[str, str]
) -> list[SendResult]:
    """Send the minutes to the agencies that attended, close the meeting, mark cases heard.

    ``discussions``: ``{case_ref: discussion}`` (see :func:`parse_minutes`).
    """
    now = rt.clock()
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        outcomes = await seal_minutes(
            conn,
            rt.context(now),
            rt.keys,
            meeting,
            dict(discussions),
            actor=actor.log_name,
            now=now,
        )
    rt.wake(o.agency for o in outcomes if o.kind == "disclosed")
    return outcomes


@dataclass(frozen=True, slots=True)
class MeetingPage:
    """What the web UI's meeting page shows (decrypted: its reading is an access entry)."""

    view: MeetingView
    candidates: list[Listed]
    carried: list[Action]
    preview: list[dict[str, Any]]
    serving: list[Agency]
    research: list[dict[str, Any]]
    actions: list[Action]
    policy_version: str


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(field path, shown value)`` pairs of a projection, for the preview table."""
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for key, inner in value.items():
            if key in ("subject_id", "role"):
                continue
            out += flatten(inner, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return [pair for i, v in enumerate(value, 1) for pair in flatten(v, f"{prefix}[{i}]")]
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, "yes" if value is True else "no" if value is False else str(value))]


async def _preview(
    rt: Runtime, conn: Any, listed: list[Listed], serving: list[Agency]
) -> list[dict[str, Any]]:
    """What each agency kind serving the area would receive of each agenda case."""
    kinds: dict[str, list[str]] = {}
    for agency in serving:
        kinds.setdefault(agency.kind, []).append(agency.id)
    cases = [await load_case(conn, rt.keys, entry.case.ref) for entry in listed]
    out = []
    for kind, ids in sorted(kinds.items()):
        rule = rt.policy.rule("agenda", kind)
        items = []
        if rule is not None:
            for case in cases:
                fields = rule.fields_for(case.perpetrator_must_not_know)
                items.append((case, flatten(project(case.view, fields))))
        out.append({"kind": kind, "agencies": ids, "rule": rule, "cases": items})
    return out


@use_case("meeting.page", *WRITERS)
async def meeting_page(rt: Runtime, actor: Actor, meeting_id: str) -> MeetingPage:
    """The meeting page: agenda, candidates, carried-forward actions, what each agency kind
    would be sent, attendance, research, actions; logged as one ``access`` entry."""
    now = rt.clock()
    async with rt.engine.begin() as conn:
        meeting = await _meeting(conn, actor, meeting_id, write=True)
        view = await _view(conn, meeting)
        serving = [
            a
            for a in [
                await get_agency(conn, i) for i in await agencies_serving(conn, meeting.area.id)
            ]
            if a is not None
        ]
        found = await action_ops.find_actions(
            conn, rt.keys, areas=[meeting.area.id], today=now.date()
        )
        page = MeetingPage(
            view=view,
            candidates=[c for c in await candidates(conn, meeting) if not c.on_agenda],
            carried=await action_ops.incomplete_before(conn, rt.keys, meeting),
            preview=await _preview(rt, conn, view.agenda, serving),
            serving=serving,
            research=(await compile_research(conn, rt.keys, meeting))["cases"],
            actions=[a for a in found if a.meeting_id == meeting.id],
            policy_version=rt.policy.version,
        )
        refs = {e.case.ref for e in view.agenda}
        refs |= {a.case_ref for a in page.carried} | {a.case_ref for a in page.actions}
        read = ["agenda", "research", "actions"]
        await record_access(conn, actor, sorted(refs), purpose="view", what=read, now=now)
    return page
