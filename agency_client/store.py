"""The client's local store: received messages (encrypted at rest), keys and settings.

One SQLite file, ``DIR/store.sqlite3``. A message's metadata (id, type, sender, case
reference, times, recipient key) is in the clear so ``inbox`` works without the
passphrase; its payload is sealed with ChaCha20-Poly1305 under a *store key* derived
with HKDF-SHA256 from the agency's identity seed, the envelope id as associated data,
so the file alone shows no one's name and a body cannot be moved to another row. The
workspace's draft research responses and a copy of what the agency sent are sealed the
same way (associated data ``draft:CASE`` and ``sent:ID``).

Messages are keyed by envelope id and inserted at most once, which turns the hub's
at-least-once delivery into exactly-once hand-off: ``acked_at`` and ``handed_at``
record how far each message has got, so a restart resumes where a crash stopped.

The methods block; call them through :func:`asyncio.to_thread` from async code. One
connection is shared between threads under a lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair, IdentityPublicKey
from hub.crypto.sealing import OpenedEnvelope
from hub.crypto.tree_head import SignedTreeHead
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.envelope import format_timestamp, loads_strict, parse_timestamp
from hub.protocol.errors import CryptoError, HubError

__all__ = [
    "STORE_FILE",
    "KeyRecord",
    "LogAlarm",
    "LogHead",
    "MessageInfo",
    "SentMessage",
    "Store",
    "StoreError",
    "StoredMessage",
    "derive_store_key",
]

STORE_FILE: Final = "store.sqlite3"
STORE_INFO: Final = b"marac-hub agency store v1"
_SCHEMA_VERSION: Final = 1
_NONCE: Final = 12
_CHECK_PLAINTEXT: Final = b"marac-hub agency store key check"
_CHECK_AAD: Final = b"key-check"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS config (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hub_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    public_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    pinned_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    envelope_id     TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    sender          TEXT NOT NULL,
    case_ref        TEXT,
    sent_at         TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    recipient_key   TEXT NOT NULL,
    envelope_sha256 TEXT NOT NULL,
    body            BLOB NOT NULL,
    acked_at        TEXT,
    ack_refused     TEXT,
    handed_at       TEXT
);
CREATE TABLE IF NOT EXISTS encryption_keys (
    fingerprint  TEXT PRIMARY KEY,
    suite        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    announced_at TEXT,
    destroyed_at TEXT
);
CREATE TABLE IF NOT EXISTS log_heads (
    size    INTEGER NOT NULL,
    root    TEXT NOT NULL,
    head    TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    status  TEXT NOT NULL,
    PRIMARY KEY (size, root)
);
CREATE TABLE IF NOT EXISTS log_checks (
    envelope_id TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    log_index   INTEGER,
    checked_at  TEXT NOT NULL,
    reason      TEXT
);
CREATE TABLE IF NOT EXISTS log_alarms (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,
    reason   TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at  TEXT NOT NULL,
    count    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (kind, reason)
);
CREATE TABLE IF NOT EXISTS drafts (
    case_ref   TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    body       BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sent (
    envelope_id TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    case_ref    TEXT NOT NULL,
    answers     TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    body        BLOB NOT NULL
);
"""
_INFO_COLUMNS: Final = (
    "envelope_id, type, sender, case_ref, sent_at, received_at, recipient_key, "
    "envelope_sha256, acked_at, ack_refused, handed_at"
)


class StoreError(HubError):
    """The local store cannot be used as asked."""

    default_code = "store-error"


def derive_store_key(identity: IdentityKeyPair) -> bytes:
    """The 32-byte store key: HKDF-SHA256 of the identity seed, info ``STORE_INFO``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=STORE_INFO)
    return hkdf.derive(identity.private_bytes())


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """What the store knows of a message without decrypting it."""

    envelope_id: str
    type: str
    sender: str
    case_ref: str | None
    sent_at: str
    received_at: str
    recipient_key: str
    envelope_sha256: str
    acked_at: str | None
    ack_refused: str | None
    handed_at: str | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A stored message with its decrypted payload."""

    info: MessageInfo
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """What a sink receives."""
        i = self.info
        return {
            "envelope_id": i.envelope_id,
            "type": i.type,
            "from": i.sender,
            "case_ref": i.case_ref,
            "sent_at": i.sent_at,
            "received_at": i.received_at,
            "recipient_key": i.recipient_key,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A research response or action update this agency sent, as it was sent."""

    envelope_id: str
    type: str
    case_ref: str
    answers: str  # the research request's or the action's id
    sent_at: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One of the agency's encryption keys, and where it is in its life."""

    fingerprint: str
    suite: str
    created_at: datetime
    announced_at: datetime | None
    destroyed_at: datetime | None


@dataclass(frozen=True, slots=True)
class LogHead:
    """A signed tree head the client has seen, and whether it extends the ones before.

    ``status``: ``pending`` (consistency not yet checked), ``consistent`` or ``failed``.
    """

    head: SignedTreeHead
    seen_at: str
    status: str


@dataclass(frozen=True, slots=True)
class LogAlarm:
    """Something the hub's log showed that it must not (a fork, a rewrite, a foreign key)."""

    kind: str
    reason: str
    first_at: str
    last_at: str
    count: int


def _owner_only(path: Path) -> None:
    """Narrow the store file and SQLite's side files beside it to 0600 (SQLite gives the
    side files it creates the database's own mode, so they follow)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if side.stat().st_mode & 0o777 != 0o600:
                side.chmod(0o600)


class Store:
    """The SQLite store. Pass the store key to read or write message bodies."""

    def __init__(self, path: Path, store_key: bytes | None = None) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # owner-only before SQLite opens it
        os.close(fd)
        _owner_only(path)  # an older store (or a copy) may have been left readable
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._aead = ChaCha20Poly1305(store_key) if store_key is not None else None
        try:
            self._setup()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def in_dir(cls, data_dir: Path, store_key: bytes | None = None) -> Store:
        """Open (or create) ``data_dir/store.sqlite3``."""
        return cls(data_dir / STORE_FILE, store_key)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def _setup(self) -> None:
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")  # a stored message is on disk before its ack
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > _SCHEMA_VERSION:
            raise StoreError(f"{self.path} was made by a newer agency-client")
        with self._lock:
            self._db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;"
            )
        if self._aead is not None:
            self._check_key(self._aead)

    def _check_key(self, aead: ChaCha20Poly1305) -> None:
        check = self.config("store_key_check")
        if check is None:
            nonce = os.urandom(_NONCE)
            sealed = nonce + aead.encrypt(nonce, _CHECK_PLAINTEXT, _CHECK_AAD)
            self.set_config("store_key_check", b64encode(sealed))
            return
        raw = b64decode(check)
        try:
            aead.decrypt(raw[:_NONCE], raw[_NONCE:], _CHECK_AAD)
        except InvalidTag:
            raise CryptoError(
                "this store was made under another identity key", code="wrong-store-key"
            ) from None

    # -- settings -------------------------------------------------------------------

    def config(self, name: str) -> str | None:
        """A setting (``agency_id``, ``hub_url``, ``ca_bundle``, ...), or None."""
        rows = self._query("SELECT value FROM config WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def set_config(self, name: str, value: str) -> None:
        """Set a setting."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO config (name, value) VALUES (?, ?)", (name, value))

    def require_config(self, name: str) -> str:
        """A setting that enrolment wrote; ``StoreError`` if it is missing."""
        value = self.config(name)
        if value is None:
            raise StoreError(f"{self.path} has no {name}: run 'agency-client enrol' first")
        return value

    def record_enrolment(
        self,
        *,
        agency_id: str,
        hub_url: str,
        hub_key: IdentityPublicKey,
        key: EncryptionKeyPair,
        now: datetime,
        ca_bundle: Path | None = None,
        allow_http: bool = False,
    ) -> None:
        """Pin the hub key, record the first encryption key and the connection settings."""
        self.pin_hub_key(hub_key, now)
        self.add_key(key.fingerprint, key.suite, now, announced_at=now)
        self.set_config("hub_url", hub_url)
        if ca_bundle is not None:
            self.set_config("ca_bundle", str(ca_bundle.resolve()))
        if allow_http:
            self.set_config("allow_http", "1")
        self.set_config("agency_id", agency_id)  # last: its presence means enrolled

    # -- the pinned hub key ---------------------------------------------------------

    def pin_hub_key(self, key: IdentityPublicKey, now: datetime) -> None:
        """Pin the hub's identity key; refuse to replace a different pinned key."""
        with self._tx() as db:
            row = db.execute("SELECT fingerprint FROM hub_key WHERE id = 1").fetchone()
            if row is not None and row[0] != key.fingerprint:
                raise CryptoError(
                    "the hub's identity key differs from the one pinned at enrolment",
                    code="hub-key-changed",
                )
            db.execute(
                "INSERT OR IGNORE INTO hub_key (id, public_key, fingerprint, pinned_at) "
                "VALUES (1, ?, ?, ?)",
                (b64encode(key.raw), key.fingerprint, format_timestamp(now)),
            )

    def hub_key(self) -> IdentityPublicKey | None:
        """The pinned hub identity key, if any."""
        rows = self._query("SELECT public_key FROM hub_key WHERE id = 1")
        return IdentityPublicKey.from_bytes(b64decode(rows[0][0])) if rows else None

    # -- messages -------------------------------------------------------------------

    def add(self, opened: OpenedEnvelope, envelope_sha256: str, received_at: datetime) -> bool:
        """Store an opened envelope; False (and nothing changed) if its id is already here."""
        header = opened.header
        body = self._seal(header.id, canonical_json(opened.payload))
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO messages (envelope_id, type, sender, case_ref, sent_at, "
                "received_at, recipient_key, envelope_sha256, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    header.id,
                    header.type,
                    header.sender,
                    header.case_ref,
                    header.sent_at,
                    format_timestamp(received_at),
                    header.recipient_key,
                    envelope_sha256,
                    body,
                ),
            )
            return cursor.rowcount == 1

    def info(self, envelope_id: str) -> MessageInfo | None:
        """A message's metadata, or None if it is not stored."""
        rows = self._query(
            f"SELECT {_INFO_COLUMNS} FROM messages WHERE envelope_id = ?",  # noqa: S608
            (envelope_id,),
        )
        return MessageInfo(*rows[0]) if rows else None

    def messages(self) -> list[MessageInfo]:
        """Every stored message's metadata, oldest received first."""
        return self._infos("1")

    def unacknowledged(self) -> list[MessageInfo]:
        """Stored messages whose receipt the hub has not yet accepted (nor refused)."""
        return self._infos("acked_at IS NULL AND ack_refused IS NULL")

    def unhanded(self) -> list[MessageInfo]:
        """Stored messages not yet handed to a sink, oldest first."""
        return self._infos("handed_at IS NULL")

    def _infos(self, where: str) -> list[MessageInfo]:
        rows = self._query(
            f"SELECT {_INFO_COLUMNS} FROM messages WHERE {where} "  # noqa: S608
            "ORDER BY received_at, envelope_id"
        )
        return [MessageInfo(*row) for row in rows]

    def mark_acknowledged(self, envelope_ids: Iterable[str], now: datetime) -> None:
        """Record that the hub accepted these receipts."""
        self._mark("acked_at", envelope_ids, format_timestamp(now))

    def mark_ack_refused(self, envelope_id: str, code: str) -> None:
        """Record that the hub refused this receipt for good (it is not retried)."""
        self._mark("ack_refused", [envelope_id], code)

    def mark_handed(self, envelope_id: str, now: datetime) -> None:
        """Record that a sink took this message."""
        self._mark("handed_at", [envelope_id], format_timestamp(now))

    def _mark(self, column: str, envelope_ids: Iterable[str], value: str) -> None:
        assert column in {"acked_at", "ack_refused", "handed_at"}
        with self._tx() as db:
            db.executemany(
                f"UPDATE messages SET {column} = ? WHERE envelope_id = ? AND {column} IS NULL",  # noqa: S608
                [(value, envelope_id) for envelope_id in envelope_ids],
            )

    def message(self, envelope_id: str) -> StoredMessage:
        """A stored message with its payload decrypted."""
        rows = self._query(
            f"SELECT {_INFO_COLUMNS}, body FROM messages WHERE envelope_id = ?",  # noqa: S608
            (envelope_id,),
        )
        if not rows:
            raise StoreError(f"no stored message {envelope_id}", code="unknown-message")
        *columns, body = rows[0]
        info = MessageInfo(*columns)
        payload = loads_strict(self._open(envelope_id, body))
        return StoredMessage(info=info, payload=payload)

    def _seal(self, envelope_id: str, plaintext: bytes) -> bytes:
        aead = self._need_key()
        nonce = os.urandom(_NONCE)
        return nonce + aead.encrypt(nonce, plaintext, envelope_id.encode())

    def _open(self, envelope_id: str, body: bytes) -> bytes:
        aead = self._need_key()
        try:
            return aead.decrypt(body[:_NONCE], body[_NONCE:], envelope_id.encode())
        except InvalidTag:
            raise CryptoError(
                f"stored message {envelope_id} does not decrypt", code="store-damaged"
            ) from None

    def _need_key(self) -> ChaCha20Poly1305:
        if self._aead is None:
            raise StoreError("the store was opened without its key")
        return self._aead

    # -- drafts and sent messages (the workspace's; bodies sealed like messages') -------

    def save_draft(self, case_ref: str, draft: dict[str, Any], now: datetime) -> None:
        """Keep (or replace) the draft research response for ``case_ref``, sealed."""
        body = self._seal("draft:" + case_ref, canonical_json(draft))
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO drafts (case_ref, updated_at, body) VALUES (?, ?, ?)",
                (case_ref, format_timestamp(now), body),
            )

    def draft(self, case_ref: str) -> tuple[dict[str, Any], str] | None:
        """The draft for ``case_ref`` and when it was saved, or None."""
        rows = self._query("SELECT body, updated_at FROM drafts WHERE case_ref = ?", (case_ref,))
        if not rows:
            return None
        body, updated_at = rows[0]
        return loads_strict(self._open("draft:" + case_ref, body)), str(updated_at)

    def draft_cases(self) -> list[str]:
        """The case references that have a draft."""
        return [str(r[0]) for r in self._query("SELECT case_ref FROM drafts ORDER BY case_ref")]

    def delete_draft(self, case_ref: str) -> None:
        """Drop the draft for ``case_ref`` (if any)."""
        with self._tx() as db:
            db.execute("DELETE FROM drafts WHERE case_ref = ?", (case_ref,))

    def record_sent(
        self,
        envelope_id: str,
        message_type: str,
        case_ref: str,
        answers: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> None:
        """Record a message sent to the hub (its payload sealed); once per envelope id."""
        body = self._seal("sent:" + envelope_id, canonical_json(payload))
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO sent (envelope_id, type, case_ref, answers, sent_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (envelope_id, message_type, case_ref, answers, format_timestamp(now), body),
            )

    def sent(self) -> list[SentMessage]:
        """Every message this agency sent, oldest first, decrypted."""
        rows = self._query(
            "SELECT envelope_id, type, case_ref, answers, sent_at, body FROM sent "
            "ORDER BY sent_at, envelope_id"
        )
        return [
            SentMessage(eid, kind, ref, answers, at, loads_strict(self._open("sent:" + eid, body)))
            for eid, kind, ref, answers, at, body in rows
        ]

    # -- encryption keys ------------------------------------------------------------

    def add_key(
        self, fingerprint: str, suite: str, created_at: datetime, announced_at: datetime | None
    ) -> None:
        """Record an encryption key (no-op if already recorded)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO encryption_keys (fingerprint, suite, created_at, "
                "announced_at) VALUES (?, ?, ?, ?)",
                (
                    fingerprint,
                    suite,
                    format_timestamp(created_at),
                    format_timestamp(announced_at) if announced_at else None,
                ),
            )

    def forget_key(self, fingerprint: str) -> None:
        """Drop a key that was recorded but never written nor announced."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM encryption_keys WHERE fingerprint = ? AND announced_at IS NULL",
                (fingerprint,),
            )

    def mark_key_announced(self, fingerprint: str, now: datetime) -> None:
        """Record that the hub accepted this key."""
        self._mark_key("announced_at", fingerprint, now)

    def mark_key_destroyed(self, fingerprint: str, now: datetime) -> None:
        """Record that this key's private half was deleted."""
        self._mark_key("destroyed_at", fingerprint, now)

    def _mark_key(self, column: str, fingerprint: str, now: datetime) -> None:
        assert column in {"announced_at", "destroyed_at"}
        with self._tx() as db:
            db.execute(
                f"UPDATE encryption_keys SET {column} = ? "  # noqa: S608
                f"WHERE fingerprint = ? AND {column} IS NULL",
                (format_timestamp(now), fingerprint),
            )

    def key_records(self) -> list[KeyRecord]:
        """Every recorded encryption key, oldest first."""
        rows = self._query(
            "SELECT fingerprint, suite, created_at, announced_at, destroyed_at "
            "FROM encryption_keys ORDER BY created_at, fingerprint"
        )
        return [
            KeyRecord(
                fingerprint=fp,
                suite=suite,
                created_at=parse_timestamp(created),
                announced_at=parse_timestamp(announced) if announced else None,
                destroyed_at=parse_timestamp(destroyed) if destroyed else None,
            )
            for fp, suite, created, announced, destroyed in rows
        ]

    # -- the hub's log, as this client has checked it ---------------------------------

    def add_log_head(self, head: SignedTreeHead, status: str, now: datetime) -> bool:
        """Record a head (by size and root); False if one with that size and root is known."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO log_heads (size, root, head, seen_at, status) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    head.size,
                    b64encode(head.root),
                    canonical_json(head.to_json()).decode(),
                    format_timestamp(now),
                    status,
                ),
            )
            return cursor.rowcount == 1

    def set_log_head_status(self, head: SignedTreeHead, status: str) -> None:
        """Record the outcome of a head's consistency check."""
        with self._tx() as db:
            db.execute(
                "UPDATE log_heads SET status = ? WHERE size = ? AND root = ?",
                (status, head.size, b64encode(head.root)),
            )

    def log_heads(self) -> list[LogHead]:
        """Every head seen, smallest first."""
        rows = self._query("SELECT head, seen_at, status FROM log_heads ORDER BY size, seen_at")
        return [LogHead(SignedTreeHead.from_json(loads_strict(h)), at, st) for h, at, st in rows]

    def unchecked_in_log(self, limit: int = -1) -> list[MessageInfo]:
        """Stored messages whose inclusion in the hub's log is not yet checked, oldest first."""
        columns = ", ".join(f"m.{c.strip()}" for c in _INFO_COLUMNS.split(","))
        rows = self._query(
            f"SELECT {columns} FROM messages m LEFT JOIN log_checks c "  # noqa: S608
            "ON c.envelope_id = m.envelope_id WHERE c.envelope_id IS NULL "
            "ORDER BY m.received_at, m.envelope_id LIMIT ?",
            (limit,),
        )
        return [MessageInfo(*row) for row in rows]

    def record_log_check(
        self,
        envelope_id: str,
        status: str,
        now: datetime,
        *,
        index: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Record an envelope's inclusion check: ``verified`` (at ``index``) or ``failed``."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO log_checks (envelope_id, status, log_index, checked_at, "
                "reason) VALUES (?, ?, ?, ?, ?)",
                (envelope_id, status, index, format_timestamp(now), reason),
            )

    def log_check_counts(self) -> dict[str, int]:
        """How many stored messages are ``verified``, ``failed`` and ``pending``."""
        rows = self._query(
            "SELECT COALESCE(c.status, 'pending'), COUNT(*) FROM messages m LEFT JOIN "
            "log_checks c ON c.envelope_id = m.envelope_id GROUP BY 1"
        )
        counts = {"verified": 0, "failed": 0, "pending": 0}
        counts.update({str(status): int(n) for status, n in rows})
        return counts

    def last_log_check(self) -> str | None:
        """When an envelope's log entry was last checked (a timestamp), or None."""
        rows = self._query("SELECT MAX(checked_at) FROM log_checks")
        return str(rows[0][0]) if rows and rows[0][0] else None

    def add_alarm(self, kind: str, reason: str, now: datetime) -> bool:
        """Record an alarm; True if new (the same alarm again only counts up)."""
        at = format_timestamp(now)
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO log_alarms (kind, reason, first_at, last_at) "
                "VALUES (?, ?, ?, ?)",
                (kind, reason, at, at),
            )
            if cursor.rowcount == 1:
                return True
            db.execute(
                "UPDATE log_alarms SET count = count + 1, last_at = ? "
                "WHERE kind = ? AND reason = ?",
                (at, kind, reason),
            )
            return False

    def alarms(self) -> list[LogAlarm]:
        """Every alarm, oldest first."""
        rows = self._query(
            "SELECT kind, reason, first_at, last_at, count FROM log_alarms ORDER BY id"
        )
        return [LogAlarm(*row) for row in rows]
