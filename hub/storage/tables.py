"""What every package's tables share: one ``MetaData`` and the column types the hub uses
everywhere. Each package holds its own tables in its ``tables`` module (``hub.cases.tables``,
``hub.delivery.tables`` …); ``hub.app.schema.every_table`` gathers them. Schema changes
are Alembic migrations (``hub/storage/migrations``), which import none of them."""

from __future__ import annotations

from sqlalchemy import BigInteger, DateTime, Integer, MetaData

__all__ = ["SEQ", "TZ", "metadata"]

metadata = MetaData()
TZ = DateTime(timezone=True)
SEQ = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys
