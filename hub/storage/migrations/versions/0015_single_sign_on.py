"""Single sign-on identities for staff: who an OpenID provider's subject is here
(``sso_identities``), and sign-in attempts waiting for the provider (``sso_logins``).

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again.

Revision ID: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "sso_identities",
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("last_sign_in_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("issuer", "subject"),
        sa.UniqueConstraint("user_name"),
    )
    op.create_table(
        "sso_logins",
        sa.Column("browser_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("next_path", sa.String(length=300), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("browser_sha256"),
    )
    op.create_index("ix_sso_logins_created", "sso_logins", ["created_at"], unique=False)


def downgrade() -> None:
    """Drop them."""
    op.drop_table("sso_logins")
    op.drop_table("sso_identities")
