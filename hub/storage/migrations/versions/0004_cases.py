"""Areas, cases, subjects (encrypted at rest), case keys.

Revision ID: 0004

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today. ``areas.four_eyes`` is 0013's.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "areas",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_days", sa.Integer(), server_default="42", nullable=False),
        sa.Column("escalation_callouts", sa.Integer(), server_default="3", nullable=False),
        sa.Column("retention_years", sa.Integer(), server_default="6", nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "agency_areas",
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.PrimaryKeyConstraint("area_id", "agency_id"),
    )
    op.create_table(
        "user_areas",
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("area_id", "user_name"),
    )
    op.create_table(
        "case_sequences",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "cases",
        sa.Column("ref", sa.String(length=20), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("last_referral_on", sa.Date(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("referring_agency", sa.String(length=64), nullable=False),
        sa.Column("criterion", sa.String(length=32), nullable=False),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.Column("previous_ref", sa.String(length=20), nullable=True),
        sa.Column("tool", sa.String(length=8), nullable=False),
        sa.Column("yes_count", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("children_count", sa.Integer(), nullable=False),
        sa.Column("perpetrator_must_not_know", sa.Boolean(), nullable=False),
        sa.Column("consent", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("heard_on", sa.Date(), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("hold_reason", sa.LargeBinary(), nullable=True),
        sa.Column("destroyed_at", _TZ, nullable=True),
        sa.Column("answers", sa.LargeBinary(), nullable=True),
        sa.Column("referral_text", sa.LargeBinary(), nullable=True),
        sa.Column("safe_contact", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.ForeignKeyConstraint(["previous_ref"], ["cases.ref"]),
        sa.ForeignKeyConstraint(["referring_agency"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("ref"),
    )
    op.create_index("ix_cases_area", "cases", ["area_id", "referred_on"], unique=False)
    op.create_table(
        "case_subjects",
        sa.Column("subject_id", sa.String(length=16), nullable=False),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("match_key", sa.String(length=64), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_ref"], ["cases.ref"]),
        sa.PrimaryKeyConstraint("subject_id"),
    )
    op.create_index("ix_case_subjects_case", "case_subjects", ["case_ref"], unique=False)
    op.create_index("ix_case_subjects_match", "case_subjects", ["match_key"], unique=False)
    op.create_table(
        "case_keys",
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("destroyed_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["case_ref"], ["cases.ref"]),
        sa.PrimaryKeyConstraint("case_ref"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("case_keys")
    op.drop_table("case_subjects")
    op.drop_table("cases")
    op.drop_table("case_sequences")
    op.drop_table("user_areas")
    op.drop_table("agency_areas")
    op.drop_table("areas")
