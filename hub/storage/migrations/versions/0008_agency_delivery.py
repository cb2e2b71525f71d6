"""Per-agency delivery settings: transport, format and the transport's settings.

Revision ID: 0008
"""

from alembic import op

from hub.delivery.tables import agency_delivery

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``agency_delivery`` exactly as ``hub.delivery.tables`` defines it."""
    agency_delivery.metadata.create_all(op.get_bind(), tables=[agency_delivery])


def downgrade() -> None:
    """Drop it."""
    agency_delivery.metadata.drop_all(op.get_bind(), tables=[agency_delivery])
