"""Scoped, expiring staff API tokens.

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again.

Revision ID: 0018
"""

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: reserved in the revision chain."""


def downgrade() -> None:
    """Nothing yet: reserved in the revision chain."""
