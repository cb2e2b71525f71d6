"""Meetings, agenda listing, attendance, research, actions and their updates.

Revision ID: 0005
"""

from alembic import op

import hub.meetings.tables  # noqa: F401 - puts the meetings tables on the metadata
from hub.storage.tables import metadata

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = [
    "meetings",
    "meeting_cases",
    "agenda_deliveries",
    "attendance",
    "research_requests",
    "research_responses",
    "actions",
    "action_updates",
]


def upgrade() -> None:
    """Create the meetings tables exactly as ``hub.meetings.tables`` defines them."""
    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _TABLES])


def downgrade() -> None:
    """Drop them."""
    bind = op.get_bind()
    metadata.drop_all(bind, tables=[metadata.tables[name] for name in reversed(_TABLES)])
