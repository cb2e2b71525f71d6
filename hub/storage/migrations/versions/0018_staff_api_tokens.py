"""Scoped, expiring staff API tokens: ``staff_tokens``, one row a token; each user's
token moves there, expiring 90 days after the upgrade, and ``users.token_hash`` goes.

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again.

Revision ID: 0018
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_LIFETIME = timedelta(days=90)


def upgrade() -> None:
    """Create ``staff_tokens``, move each user's token into it, drop ``users.token_hash``."""
    tokens = op.create_table(
        "staff_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("areas", sa.Text(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("created_by", sa.String(length=96), nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("last_used_at", _TZ, nullable=True),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_tokens_user", "staff_tokens", ["user_name"], unique=False)
    bind = op.get_bind()
    expires = datetime.now(UTC) + _LIFETIME
    old = sa.table(
        "users",
        sa.column("name", sa.String()),
        sa.column("token_id", sa.String()),
        sa.column("token_hash", sa.String()),
        sa.column("created_at", _TZ),
        sa.column("revoked_at", _TZ),
    )
    rows = bind.execute(sa.select(old)).all()
    if rows:
        op.bulk_insert(
            tokens,
            [
                {
                    "id": r.token_id,
                    "user_name": r.name,
                    "token_hash": r.token_hash,
                    "created_at": r.created_at,
                    "created_by": "migration:0018",
                    "expires_at": expires,
                    "revoked_at": r.revoked_at,
                }
                for r in rows
            ],
        )
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.drop_column("token_hash")


def downgrade() -> None:
    """Put each user's first token's hash back in ``users`` and drop ``staff_tokens``."""
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.add_column(
            sa.Column("token_hash", sa.String(length=255), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE users SET token_hash = COALESCE((SELECT t.token_hash FROM staff_tokens t "
        "WHERE t.id = users.token_id), '')"
    )
    op.drop_index("ix_staff_tokens_user", table_name="staff_tokens")
    op.drop_table("staff_tokens")
