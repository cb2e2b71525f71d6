"""Mailbox leases (``outbox_claims``) and, on PostgreSQL, a NOTIFY when envelopes queue.

Revision ID: 0011

The trigger sends ``NOTIFY marac_mailbox`` with the comma-separated agency ids of the
rows an ``INSERT INTO outbox`` statement queued (``*`` if they would not fit in one
notification); PostgreSQL delivers it when the transaction commits, to every hub process
listening (``hub.delivery.waiters``), whichever process or command queued the rows.
"""

from alembic import op

from hub.delivery.claims import outbox_claims

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
    """Create ``outbox_claims`` as ``hub.delivery.claims`` defines it; the trigger on PostgreSQL."""
    bind = op.get_bind()
    outbox_claims.metadata.create_all(bind, tables=[outbox_claims])
    if bind.dialect.name == "postgresql":
        op.execute(_FUNCTION)
        op.execute(_TRIGGER)


def downgrade() -> None:
    """Drop them."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS marac_outbox_notify()")
    outbox_claims.metadata.drop_all(bind, tables=[outbox_claims])
