"""Lawful bases, ISP versions and signatures, held disclosures and overrides.

Revision ID: 0003
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this migration's tables (filled in by the work that owns them)."""


def downgrade() -> None:
    """Drop them."""
