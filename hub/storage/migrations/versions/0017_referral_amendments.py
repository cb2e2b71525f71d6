"""Amended referrals and cancelled or moved meetings.

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again.

Revision ID: 0017
"""

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: reserved in the revision chain."""


def downgrade() -> None:
    """Nothing yet: reserved in the revision chain."""
