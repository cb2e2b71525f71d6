"""Four eyes per area: ``areas.four_eyes`` (on by default), whether a held disclosure or a
policy override needs a second person's approval.

Written out column by column (it imports nothing of the hub), so it stays what it was when
the table changes again. Migration 0004 creates ``areas`` without the column; before the
revisions were frozen it created ``areas`` from the table definition of the day, so a
database made then from scratch may already have the column: it is added only where it is
missing.

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _has_column() -> bool:
    columns = sa.inspect(op.get_bind()).get_columns("areas")
    return any(column["name"] == "four_eyes" for column in columns)


def upgrade() -> None:
    """Add ``areas.four_eyes``, true for every existing area."""
    if not _has_column():
        op.add_column(
            "areas",
            sa.Column("four_eyes", sa.Boolean(), nullable=False, server_default="1"),
        )


def downgrade() -> None:
    """Drop ``areas.four_eyes``."""
    if _has_column():
        with op.batch_alter_table("areas") as batch:
            batch.drop_column("four_eyes")
