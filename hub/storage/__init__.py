"""Storage: SQLAlchemy Core tables on SQLite or PostgreSQL, Alembic migrations."""

from hub.storage.database import create_engine, is_sqlite, migrate

__all__ = ["create_engine", "is_sqlite", "migrate"]
