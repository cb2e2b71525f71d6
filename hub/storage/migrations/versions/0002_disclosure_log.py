"""The disclosure log: entries, stored subtree hashes, signed tree heads.

Revision ID: 0002
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this migration's tables (filled in by the work that owns them)."""


def downgrade() -> None:
    """Drop them."""
