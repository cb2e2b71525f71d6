"""Disclosures held for review, and coordinator overrides.

Revision ID: 0006
"""

from alembic import op

from hub.disclosure.tables import held_disclosures, overrides

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLES = [held_disclosures, overrides]


def upgrade() -> None:
    """Create the tables exactly as ``hub.disclosure.tables`` defines them."""
    held_disclosures.metadata.create_all(op.get_bind(), tables=_TABLES)


def downgrade() -> None:
    """Drop them."""
    held_disclosures.metadata.drop_all(op.get_bind(), tables=list(reversed(_TABLES)))
