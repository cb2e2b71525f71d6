"""The log's rows reshaped for appends and proofs; search keys apart.

Revision ID: 0009

``log_entries`` keeps only ``(idx, entry)``. ``log_leaves`` holds each entry's leaf hash
followed by the hashes of the perfect subtrees of levels 1 to ``LOW_LEVELS`` it completes
(formerly rows of ``log_nodes``, which keeps the higher levels). The search columns move
to ``log_index`` and its side tables. Existing rows are carried over.
"""

from collections.abc import Iterator
from typing import Any

from alembic import op
from sqlalchemy import Column, LargeBinary, text

from hub.log.tables import (
    LOW_LEVELS,
    log_entries,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
    log_leaves,
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


def _leaves(bind: Any) -> Iterator[dict[str, Any]]:
    low: dict[int, list[bytes]] = {}
    for level, position, digest in bind.execute(
        text("SELECT level, position, hash FROM log_nodes WHERE level <= :low ORDER BY level"),
        {"low": LOW_LEVELS},
    ):
        low.setdefault(((position + 1) << level) - 1, []).append(bytes(digest))
    for idx, leaf in bind.execute(text("SELECT idx, leaf_hash FROM log_entries ORDER BY idx")):
        yield {"idx": idx, "hashes": b"".join([bytes(leaf), *low.get(idx, [])])}


def upgrade() -> None:
    """Create the new tables, carry the rows over, drop what is no longer used."""
    bind = op.get_bind()
    created = [log_index, log_leaves] + [t for t, _, _ in _SIDES]
    log_index.metadata.create_all(bind, tables=created)
    op.execute(f"INSERT INTO log_index ({_SEARCH}) SELECT {_SEARCH} FROM log_entries")  # noqa: S608
    for new, old, column in _SIDES:
        op.execute(f"INSERT INTO {new.name} (idx, {column}) SELECT idx, {column} FROM {old}")  # noqa: S608
    batch: list[dict[str, Any]] = []
    for row in _leaves(bind):
        batch.append(row)
        if len(batch) == _CHUNK:
            bind.execute(log_leaves.insert(), batch)
            batch = []
    if batch:
        bind.execute(log_leaves.insert(), batch)
    bind.execute(text("DELETE FROM log_nodes WHERE level <= :low"), {"low": LOW_LEVELS})
    op.create_table(
        "log_entries_new",
        Column("idx", log_entries.c.idx.type, primary_key=True, autoincrement=False),
        Column("entry", LargeBinary, nullable=False),
    )
    op.execute("INSERT INTO log_entries_new (idx, entry) SELECT idx, entry FROM log_entries")
    for _, old, _ in _SIDES:
        op.drop_table(old)
    op.drop_table("log_entries")
    op.rename_table("log_entries_new", "log_entries")


def downgrade() -> None:
    """Not supported: the old layout would need the search columns and hashes merged back."""
    raise NotImplementedError("downgrade below 0009 is not supported")
