"""Staff accounts: name, role and the hash of their API token."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from hub.storage.tables import SEQ, TZ, metadata

__all__ = ["users"]

users = Table(
    "users",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(255), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)
