"""Meetings, agenda listing, attendance, research, actions and their updates.

Revision ID: 0005
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this migration's tables (filled in by the work that owns them)."""


def downgrade() -> None:
    """Drop them."""
