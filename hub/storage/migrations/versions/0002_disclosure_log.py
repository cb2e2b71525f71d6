"""The disclosure log: entries, stored subtree hashes, signed tree heads.

Revision ID: 0002
"""

from alembic import op

import hub.log.tables  # noqa: F401 - puts the log's tables on the shared metadata
from hub.storage.tables import metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TABLES = [
    "log_entries",
    "log_case_refs",
    "log_subjects",
    "log_categories",
    "log_nodes",
    "log_heads",
]


def upgrade() -> None:
    """Create the log's tables exactly as ``hub.log.tables`` defines them."""
    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _TABLES])


def downgrade() -> None:
    """Drop them."""
    bind = op.get_bind()
    metadata.drop_all(bind, tables=[metadata.tables[name] for name in reversed(_TABLES)])
