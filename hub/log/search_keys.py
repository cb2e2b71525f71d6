"""What the DPO searches an entry by: the one definition of the log's search rows.

``main`` and ``sides`` say which ``log_index`` row and which case, subject and data
category rows an entry has. The append path applies them to the ``LogEntry`` it writes
(``hub.log.store.index_rows``); ``log verify`` applies them to ``Keys``, the same fields
decoded straight from the stored canonical bytes by msgspec (one C pass per entry, about
six times quicker than validating the whole entry), to compare a million entries' rows in
seconds (``hub.log.index_quick``). Anything with these attributes will do: both types are
read the same way (``at`` is passed through: a datetime in a ``LogEntry``, the canonical
text in ``Keys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Protocol

import msgspec

__all__ = ["MAIN_COLUMNS", "Keys", "Searchable", "decode", "main", "sides"]

# log_index's columns after idx, in the order ``main`` gives their values
MAIN_COLUMNS: Final = (
    "kind",
    "at",
    "agency",
    "purpose",
    "basis_id",
    "basis_version",
    "envelope_id",
    "override",
)


class _Basis(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str: ...


class Searchable(Protocol):
    """The fields of an entry its search rows are made from."""

    @property
    def kind(self) -> str: ...
    @property
    def at(self) -> object: ...
    @property
    def recipient(self) -> str | None: ...
    @property
    def agency(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def basis(self) -> _Basis | None: ...
    @property
    def envelope_id(self) -> str | None: ...
    @property
    def override(self) -> object | None: ...
    @property
    def case_refs(self) -> Sequence[str] | None: ...
    @property
    def subject_ids(self) -> Sequence[str] | None: ...
    @property
    def data_categories(self) -> Sequence[str] | None: ...


def main(item: Searchable) -> tuple[Any, ...]:
    """The entry's ``log_index`` values, in ``MAIN_COLUMNS`` order."""
    basis = item.basis
    return (
        item.kind,
        item.at,
        item.recipient or item.agency,
        item.purpose,
        basis.id if basis is not None else None,
        basis.version if basis is not None else None,
        item.envelope_id,
        item.override is not None or item.kind == "override",
    )


def sides(item: Searchable) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The entry's case references, subject ids and data categories, each once, in order."""
    return (
        tuple(dict.fromkeys(item.case_refs or ())),
        tuple(dict.fromkeys(item.subject_ids or ())),
        tuple(dict.fromkeys(item.data_categories or ())),
    )


class _KeysBasis(msgspec.Struct, frozen=True):
    id: str
    version: str


class Keys(msgspec.Struct, frozen=True):
    """An entry's searched fields, as its canonical bytes hold them (others skipped)."""

    kind: str
    at: str  # as the entry's bytes hold it: RFC 3339, UTC, microseconds, "Z"
    recipient: str | None = None
    agency: str | None = None
    purpose: str | None = None
    basis: _KeysBasis | None = None
    envelope_id: str | None = None
    override: Any = None  # only whether it is there is read
    case_refs: tuple[str, ...] | None = None
    subject_ids: tuple[str, ...] | None = None
    data_categories: tuple[str, ...] | None = None


_DECODER: Final = msgspec.json.Decoder(Keys)


def decode(data: bytes) -> Keys:
    """``Keys`` from an entry's stored bytes; ``ValueError`` if they are not such JSON."""
    try:
        return _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
