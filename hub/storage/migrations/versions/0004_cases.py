"""Areas, cases, subjects (encrypted at rest), case keys.

Revision ID: 0004
"""

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this migration's tables (filled in by the work that owns them)."""


def downgrade() -> None:
    """Drop them."""
