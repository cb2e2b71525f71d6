"""Sealed messages received from agencies (kept for idempotency and audit).

Revision ID: 0007
"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this migration's tables (filled in by the work that owns them)."""


def downgrade() -> None:
    """Drop them."""
