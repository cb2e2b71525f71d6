"""The disclosure log: entries, stored subtree hashes, signed tree heads.

Revision ID: 0002

The tables are as they were at this revision (``hub.storage.legacy_log``; 0009 reshaped
them), so the migration creates the same schema whatever ``hub.log.tables`` says today.
"""

from alembic import op

from hub.storage.legacy_log import TABLES, metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the log's tables as they were at this revision."""
    metadata.create_all(op.get_bind(), tables=TABLES)


def downgrade() -> None:
    """Drop them."""
    metadata.drop_all(op.get_bind(), tables=list(reversed(TABLES)))
