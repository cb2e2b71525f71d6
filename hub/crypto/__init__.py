"""Keys, sealing (HPKE + Ed25519), key announcements, at-rest encryption, Merkle tree.

Imports :mod:`hub.protocol` only.
"""

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
