"""Initial schema: staff, agencies and their keys, outbox, receipts, nonces, alerts.

Revision ID: 0001
"""

from alembic import op

from hub.storage.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ["users", "agencies", "agency_keys", "outbox", "receipts", "nonces", "alerts"]


def upgrade() -> None:
    """Create the first tables exactly as ``hub.storage.tables`` defines them."""
    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _TABLES])


def downgrade() -> None:
    """Drop them."""
    bind = op.get_bind()
    metadata.drop_all(bind, tables=[metadata.tables[name] for name in reversed(_TABLES)])
