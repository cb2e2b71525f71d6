"""Single sign-on identities for staff.

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again.

Revision ID: 0015
"""

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: reserved in the revision chain."""


def downgrade() -> None:
    """Nothing yet: reserved in the revision chain."""
