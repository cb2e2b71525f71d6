"""The log writes one row per entry: bytes and hashes apart from what the DPO searches by.

Revision ID: 0009

``log_entries`` becomes ``(idx, entry, hashes)``: the leaf hash followed by the hashes of
the perfect subtrees the entry completes (formerly rows of ``log_nodes``). The search
columns move to ``log_index`` and its side tables. Existing rows are carried over.
"""

from collections.abc import Iterator
from typing import Any

from alembic import op
from sqlalchemy import Column, LargeBinary, text

from hub.log.tables import (
    log_entries,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CHUNK = 10_000
_SEARCH = "idx, kind, at, agency, purpose, basis_id, basis_version, envelope_id, override"
_SIDES = [
    (log_index_cases, "log_case_refs", "case_ref"),
    (log_index_subjects, "log_subjects", "subject_id"),
    (log_index_categories, "log_categories", "category"),
]


def _rows(bind: Any) -> Iterator[dict[str, Any]]:
    nodes: dict[int, list[bytes]] = {}
    for level, position, digest in bind.execute(
        text("SELECT level, position, hash FROM log_nodes ORDER BY level")
    ):
        nodes.setdefault(((position + 1) << level) - 1, []).append(bytes(digest))
    for idx, entry, leaf in bind.execute(
        text("SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx")
    ):
        yield {"idx": idx, "entry": bytes(entry), "hashes": b"".join([leaf, *nodes.get(idx, [])])}


def upgrade() -> None:
    """Create the new tables, carry the rows over, drop the old ones."""
    bind = op.get_bind()
    log_index.metadata.create_all(bind, tables=[log_index] + [t for t, _, _ in _SIDES])
    op.execute(f"INSERT INTO log_index ({_SEARCH}) SELECT {_SEARCH} FROM log_entries")  # noqa: S608
    for new, old, column in _SIDES:
        op.execute(f"INSERT INTO {new.name} (idx, {column}) SELECT idx, {column} FROM {old}")  # noqa: S608
    op.create_table(
        "log_entries_new",
        Column("idx", log_entries.c.idx.type, primary_key=True, autoincrement=False),
        Column("entry", LargeBinary, nullable=False),
        Column("hashes", LargeBinary, nullable=False),
    )
    batch: list[dict[str, Any]] = []
    for row in _rows(bind):
        batch.append(row)
        if len(batch) == _CHUNK:
            bind.execute(text("INSERT INTO log_entries_new VALUES (:idx, :entry, :hashes)"), batch)
            batch = []
    if batch:
        bind.execute(text("INSERT INTO log_entries_new VALUES (:idx, :entry, :hashes)"), batch)
    for _, old, _ in _SIDES:
        op.drop_table(old)
    op.drop_table("log_nodes")
    op.drop_table("log_entries")
    op.rename_table("log_entries_new", "log_entries")


def downgrade() -> None:
    """Not supported: the old layout would need every subtree hash split out again."""
    raise NotImplementedError("downgrade below 0009 is not supported")
