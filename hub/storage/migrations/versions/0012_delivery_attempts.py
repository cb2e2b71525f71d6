"""Push delivery attempts: one row per attempt of the webhook, SMTP or another push transport.

Revision ID: 0012
"""

from alembic import op

from hub.delivery.attempt_tables import delivery_attempts

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``delivery_attempts`` exactly as ``hub.delivery.attempt_tables`` defines it."""
    delivery_attempts.metadata.create_all(op.get_bind(), tables=[delivery_attempts])


def downgrade() -> None:
    """Drop it."""
    delivery_attempts.metadata.drop_all(op.get_bind(), tables=[delivery_attempts])
