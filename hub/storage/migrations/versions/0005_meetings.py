"""Meetings, agenda listing, attendance, research, actions and their updates.

Revision ID: 0005

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "meetings",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("published_at", _TZ, nullable=True),
        sa.Column("minutes_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_meetings_area", "meetings", ["area_id", "meeting_date"], unique=False)
    op.create_table(
        "meeting_cases",
        sa.Column("meeting_id", sa.String(length=26), nullable=False),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("added_at", _TZ, nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("discussion", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_ref"], ["cases.ref"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.PrimaryKeyConstraint("meeting_id", "case_ref"),
    )
    op.create_index("ix_meeting_cases_case", "meeting_cases", ["case_ref"], unique=False)
    op.create_table(
        "agenda_deliveries",
        sa.Column("meeting_id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("sent_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["case_ref"], ["cases.ref"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.PrimaryKeyConstraint("meeting_id", "agency_id", "case_ref"),
    )
    op.create_table(
        "attendance",
        sa.Column("meeting_id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.PrimaryKeyConstraint("meeting_id", "agency_id"),
    )
    op.create_table(
        "research_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("meeting_id", sa.String(length=26), nullable=False),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("respond_by", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("sent_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["case_ref"], ["cases.ref"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "case_ref", "agency_id", name="uq_research_request"),
    )
    op.create_table(
        "research_responses",
        sa.Column("request_id", sa.String(length=26), nullable=False),
        sa.Column("envelope_id", sa.String(length=26), nullable=False),
        sa.Column("responded_at", _TZ, nullable=False),
        sa.Column("received_at", _TZ, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["research_requests.id"]),
        sa.PrimaryKeyConstraint("request_id"),
        sa.UniqueConstraint("envelope_id"),
    )
    op.create_table(
        "actions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("meeting_id", sa.String(length=26), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("owner_agency", sa.String(length=64), nullable=False),
        sa.Column("description", sa.LargeBinary(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.Column("last_chased_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.ForeignKeyConstraint(["case_ref"], ["cases.ref"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.ForeignKeyConstraint(["owner_agency"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_actions_area", "actions", ["area_id", "status", "due_date"], unique=False)
    op.create_index("ix_actions_owner", "actions", ["owner_agency", "status"], unique=False)
    op.create_table(
        "action_updates",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("action_id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("envelope_id", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["actions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("envelope_id"),
    )
    op.create_index("ix_action_updates_action", "action_updates", ["action_id", "id"], unique=False)


def downgrade() -> None:
    """Drop them."""
    op.drop_table("action_updates")
    op.drop_table("actions")
    op.drop_table("research_responses")
    op.drop_table("research_requests")
    op.drop_table("attendance")
    op.drop_table("agenda_deliveries")
    op.drop_table("meeting_cases")
    op.drop_table("meetings")
