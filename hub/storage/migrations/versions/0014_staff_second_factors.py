"""Second factors for staff sign-in (TOTP, passkeys, recovery codes) and the second step
of a sign-in (login attempts, WebAuthn challenges).

Written out column by column (it imports nothing of the hub), so it stays what it was when
the tables change again.

Revision ID: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user() -> sa.Column[str]:
    return sa.Column("user_name", sa.String(length=64), nullable=False)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "staff_totp",
        _user(),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("confirmed_at", _TZ, nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("user_name"),
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _user(),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("used_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_staff_recovery_codes_user", "staff_recovery_codes", ["user_name", "code_sha256"]
    )
    op.create_table(
        "staff_passkeys",
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        _user(),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("last_used_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    op.create_index("ix_staff_passkeys_user", "staff_passkeys", ["user_name"])
    op.create_table(
        "login_attempts",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        _user(),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("next_path", sa.String(length=300), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index("ix_login_attempts_user", "login_attempts", ["user_name"])
    op.create_table(
        "webauthn_challenges",
        sa.Column("owner_sha256", sa.String(length=64), nullable=False),
        _user(),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("challenge", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"]),
        sa.PrimaryKeyConstraint("owner_sha256"),
    )
    op.create_index("ix_webauthn_challenges_user", "webauthn_challenges", ["user_name"])


def downgrade() -> None:
    """Drop them."""
    for name in (
        "webauthn_challenges",
        "login_attempts",
        "staff_passkeys",
        "staff_recovery_codes",
        "staff_totp",
    ):
        op.drop_table(name)
