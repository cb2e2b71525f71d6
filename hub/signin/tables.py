"""Tables of the web UI (migration 0009): staff passwords and web sessions.

* ``user_passwords``: a member of staff's Argon2id password hash, and the count of
  failed sign-ins since the last good one (a burst of failures locks sign-in briefly);
* ``web_sessions``: one row per signed-in browser. The cookie holds a random token; the
  row holds only its SHA-256, the session's CSRF token and when it was last used.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from hub.storage.tables import TZ, metadata

__all__ = ["user_passwords", "web_sessions"]

user_passwords = Table(
    "user_passwords",
    metadata,
    Column("user_name", String(64), ForeignKey("users.name"), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("set_at", TZ, nullable=False),
    Column("failed", Integer, nullable=False, default=0),
    Column("locked_until", TZ),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("last_seen_at", TZ, nullable=False),
    Index("ix_web_sessions_user", "user_name"),
)
