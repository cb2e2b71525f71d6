"""The agency-facing hot path's storage, behind one face: :class:`MailboxStore`.

Every signed request an agency makes reads its agency row, keeps its nonce, and looks in
its mailbox or stores a batch of receipts. These few statements run thousands of times a
second, so each database has its own implementation on its driver: SQLite
(:mod:`hub.storage.mailbox.sqlite`, on ``sqlite3``) and PostgreSQL
(:mod:`hub.storage.mailbox.postgres`, on asyncpg). One of them is chosen once, when the
database is opened (:func:`hub.storage.database.open_database`), and held by the
:class:`~hub.storage.database.Database`; nothing else asks which database it is.
"""

from hub.storage.mailbox.base import AgencyRow, MailboxStore, Nonce, Stored

__all__ = ["AgencyRow", "MailboxStore", "Nonce", "Stored"]
