"""Keys, sealing (HPKE + Ed25519), key announcements, at-rest encryption, Merkle tree.

Imports :mod:`hub.protocol` only.
"""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hub.crypto.announce import SignedKeyAnnouncement, announce_key, verify_announcement
    from hub.crypto.at_rest import DataKeyRing, KeyEncryptionKey
    from hub.crypto.keyfile import dump_key, load_key, read_key_file, write_key_file
    from hub.crypto.keys import (
        EncryptionKeyPair,
        EncryptionPublicKey,
        IdentityKeyPair,
        IdentityPublicKey,
        fingerprint,
    )
    from hub.crypto.sealing import OpenedEnvelope, open_envelope, seal

__all__ = [
    "DataKeyRing",
    "EncryptionKeyPair",
    "EncryptionPublicKey",
    "IdentityKeyPair",
    "IdentityPublicKey",
    "KeyEncryptionKey",
    "OpenedEnvelope",
    "SignedKeyAnnouncement",
    "announce_key",
    "dump_key",
    "fingerprint",
    "load_key",
    "open_envelope",
    "read_key_file",
    "seal",
    "verify_announcement",
    "write_key_file",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SignedKeyAnnouncement": "announce",
        "announce_key": "announce",
        "verify_announcement": "announce",
        "DataKeyRing": "at_rest",
        "KeyEncryptionKey": "at_rest",
        "dump_key": "keyfile",
        "load_key": "keyfile",
        "read_key_file": "keyfile",
        "write_key_file": "keyfile",
        "EncryptionKeyPair": "keys",
        "EncryptionPublicKey": "keys",
        "IdentityKeyPair": "keys",
        "IdentityPublicKey": "keys",
        "fingerprint": "keys",
        "OpenedEnvelope": "sealing",
        "open_envelope": "sealing",
        "seal": "sealing",
    },
)
