"""Staff accounts and their API tokens.

* ``users``: a member of staff's name and role. ``token_id`` is the id of the first token
  made with the account (kept unique for the schema's sake; tokens live in
  ``staff_tokens`` since migration 0018);
* ``staff_tokens``: one row per API bearer token: its Argon2id hash, when it expires, the
  scope narrowing it (a role at most the user's, a subset of their areas; ``NULL``: the
  user's own), when it was last used and whether it was revoked.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from hub.storage.tables import SEQ, TZ, metadata

__all__ = ["staff_tokens", "users"]

users = Table(
    "users",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("created_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)

staff_tokens = Table(
    "staff_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("token_hash", String(255), nullable=False),
    Column("role", String(16)),  # NULL: the user's role, whatever it is when used
    Column("areas", Text),  # JSON list of area ids; NULL: the user's areas
    Column("label", String(64)),
    Column("created_at", TZ, nullable=False),
    Column("created_by", String(96), nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("last_used_at", TZ),
    Column("revoked_at", TZ),
    Index("ix_staff_tokens_user", "user_name"),
)
