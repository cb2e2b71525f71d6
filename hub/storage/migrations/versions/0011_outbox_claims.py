"""Mailbox leases (``outbox_claims``) and, on PostgreSQL, a NOTIFY when envelopes queue.

Revision ID: 0011

The trigger sends ``NOTIFY marac_mailbox`` with the comma-separated agency ids of the
rows an ``INSERT INTO outbox`` statement queued (``*`` if they would not fit in one
notification); PostgreSQL delivers it when the transaction commits, to every hub process
listening (``hub.delivery.waiters``), whichever process or command queued the rows.

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION marac_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids text;
BEGIN
    SELECT string_agg(DISTINCT agency_id, ',') INTO ids FROM queued;
    IF ids IS NOT NULL THEN
        PERFORM pg_notify('marac_mailbox', CASE WHEN length(ids) > 7000 THEN '*' ELSE ids END);
    END IF;
    RETURN NULL;
END $$
"""
_TRIGGER = """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
REFERENCING NEW TABLE AS queued FOR EACH STATEMENT EXECUTE FUNCTION marac_outbox_notify()
"""


def upgrade() -> None:
    """Create ``outbox_claims``; on PostgreSQL, the outbox's NOTIFY trigger."""
    op.create_table(
        "outbox_claims",
        sa.Column("envelope_id", sa.String(length=26), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["envelope_id"], ["outbox.envelope_id"]),
        sa.PrimaryKeyConstraint("envelope_id"),
    )
    op.create_index("ix_outbox_claims_until", "outbox_claims", ["until"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)
        op.execute(_TRIGGER)


def downgrade() -> None:
    """Drop them."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS marac_outbox_notify()")
    op.drop_table("outbox_claims")
