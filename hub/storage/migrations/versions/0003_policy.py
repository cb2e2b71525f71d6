"""Lawful bases (seeded with the MARAC defaults), ISP versions and ISP signatures.

Revision ID: 0003
"""

from datetime import UTC, datetime

from alembic import op

from hub.policy import tables as _policy_tables  # noqa: F401 - puts the tables on metadata
from hub.policy.bases import DEFAULT_BASES, basis_row
from hub.storage.tables import metadata

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TABLES = ["lawful_bases", "isp_versions", "isp_signatures"]


def upgrade() -> None:
    """Create the policy tables and seed version 1 of every default lawful basis."""
    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _TABLES])
    now = datetime.now(UTC)
    rows = [basis_row(spec, 1, "hub", now) for spec in DEFAULT_BASES]
    bind.execute(metadata.tables["lawful_bases"].insert(), rows)


def downgrade() -> None:
    """Drop them."""
    bind = op.get_bind()
    metadata.drop_all(bind, tables=[metadata.tables[name] for name in reversed(_TABLES)])
