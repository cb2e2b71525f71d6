"""Sealed messages received from agencies (kept for idempotency and audit).

Revision ID: 0007
"""

from alembic import op

from hub.inbound.tables import inbound_messages

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``inbound_messages`` exactly as ``hub.inbound.tables`` defines it."""
    inbound_messages.metadata.create_all(op.get_bind(), tables=[inbound_messages])


def downgrade() -> None:
    """Drop it."""
    inbound_messages.metadata.drop_all(op.get_bind(), tables=[inbound_messages])
