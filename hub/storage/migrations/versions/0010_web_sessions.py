"""Web UI: staff passwords and web sessions.

Revision ID: 0010
"""

from alembic import op

from hub.signin.tables import user_passwords, web_sessions

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``user_passwords`` and ``web_sessions`` as ``hub.signin.tables`` defines them."""
    user_passwords.metadata.create_all(op.get_bind(), tables=[user_passwords, web_sessions])


def downgrade() -> None:
    """Drop them."""
    user_passwords.metadata.drop_all(op.get_bind(), tables=[web_sessions, user_passwords])
