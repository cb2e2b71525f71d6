"""Tables of meetings, their agendas, attendance, research and actions.

Free text about people (research, action descriptions, reasons, notes, minutes) is
stored only as ciphertext under the case's data key (``hub.cases.encrypt_for_case``).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

import hub.cases.tables  # noqa: F401 - areas and cases must be on the metadata first
from hub.storage.tables import SEQ, TZ, metadata

__all__ = [
    "action_updates",
    "actions",
    "agenda_deliveries",
    "attendance",
    "meeting_cases",
    "meetings",
    "research_requests",
    "research_responses",
]

meetings = Table(
    "meetings",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("area_id", String(64), ForeignKey("areas.id"), nullable=False),
    Column("meeting_date", Date, nullable=False),
    Column("location", String(100)),
    Column("created_at", TZ, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("published_at", TZ),  # first publication of the agenda
    Column("minutes_at", TZ),  # minutes sent: the meeting is closed
    # Cancelled (nothing more is published or minuted) or moved (migration 0017):
    Column("cancelled_at", TZ),
    Column("cancelled_by", String(64)),
    Column("moved_at", TZ),  # the latest move
    Column("moved_from", Date),  # the date before the latest move
    Index("ix_meetings_area", "area_id", "meeting_date"),
)

meeting_cases = Table(
    "meeting_cases",
    metadata,
    Column("meeting_id", String(26), ForeignKey("meetings.id"), primary_key=True),
    Column("case_ref", String(20), ForeignKey("cases.ref"), primary_key=True),
    Column("added_at", TZ, nullable=False),
    Column("added_by", String(64), nullable=False),
    Column("discussion", LargeBinary),  # the minutes' text, under the case key
    Index("ix_meeting_cases_case", "case_ref"),
)

# Which agency was sent (or held for review) which case of which meeting's agenda:
# publishing again sends each agency only the cases it has not had yet.
agenda_deliveries = Table(
    "agenda_deliveries",
    metadata,
    Column("meeting_id", String(26), ForeignKey("meetings.id"), primary_key=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), primary_key=True),
    Column("case_ref", String(20), ForeignKey("cases.ref"), primary_key=True),
    Column("outcome", String(16), nullable=False),  # disclosed | held
    Column("reference", String(64)),  # envelope id, or held disclosure id
    Column("sent_at", TZ, nullable=False),
)

attendance = Table(
    "attendance",
    metadata,
    Column("meeting_id", String(26), ForeignKey("meetings.id"), primary_key=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), primary_key=True),
    Column("status", String(16), nullable=False),  # attended | apologies
    Column("recorded_at", TZ, nullable=False),
    Column("recorded_by", String(64), nullable=False),
)

research_requests = Table(
    "research_requests",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("meeting_id", String(26), ForeignKey("meetings.id"), nullable=False),
    Column("case_ref", String(20), ForeignKey("cases.ref"), nullable=False),
    Column("agency_id", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("respond_by", Date, nullable=False),
    Column("outcome", String(16), nullable=False),  # disclosed | held
    Column("reference", String(64)),
    Column("sent_at", TZ, nullable=False),
    UniqueConstraint("meeting_id", "case_ref", "agency_id", name="uq_research_request"),
)

research_responses = Table(
    "research_responses",
    metadata,
    Column("request_id", String(26), ForeignKey("research_requests.id"), primary_key=True),
    Column("envelope_id", String(26), nullable=False, unique=True),
    Column("responded_at", TZ, nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("body", LargeBinary, nullable=False),  # the response's JSON, under the case key
)

actions = Table(
    "actions",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("meeting_id", String(26), ForeignKey("meetings.id"), nullable=False),
    Column("area_id", String(64), ForeignKey("areas.id"), nullable=False),
    Column("case_ref", String(20), ForeignKey("cases.ref"), nullable=False),
    Column("owner_agency", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("description", LargeBinary, nullable=False),  # under the case key
    Column("due_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", LargeBinary),  # the latest reason, under the case key
    Column("created_at", TZ, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("last_chased_on", Date),
    Index("ix_actions_area", "area_id", "status", "due_date"),
    Index("ix_actions_owner", "owner_agency", "status"),
)

action_updates = Table(
    "action_updates",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("action_id", String(26), ForeignKey("actions.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("note", LargeBinary),  # under the case key
    Column("reason", LargeBinary),  # under the case key
    Column("by", String(80), nullable=False),  # agency:<id> | coordinator:<name> | hub
    Column("at", TZ, nullable=False),
    Column("envelope_id", String(26), unique=True),  # the agency's envelope, if any
    Index("ix_action_updates_action", "action_id", "id"),
)
