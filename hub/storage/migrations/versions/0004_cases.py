"""Areas, cases, subjects (encrypted at rest), case keys.

Revision ID: 0004
"""

from alembic import op

import hub.cases.tables  # noqa: F401 - puts the case tables on the shared metadata
from hub.storage.tables import metadata

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = [
    "areas",
    "agency_areas",
    "user_areas",
    "case_sequences",
    "cases",
    "case_subjects",
    "case_keys",
]


def upgrade() -> None:
    """Create the case tables exactly as ``hub.cases.tables`` defines them."""
    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _TABLES])


def downgrade() -> None:
    """Drop them."""
    bind = op.get_bind()
    metadata.drop_all(bind, tables=[metadata.tables[name] for name in reversed(_TABLES)])
