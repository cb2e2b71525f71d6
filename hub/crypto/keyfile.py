"""Private keys at rest: encrypted under a passphrase (Argon2id + XChaCha20-Poly1305).

The file is JSON. Everything but the ciphertext (kind, public key, KDF parameters) is
authenticated as associated data, so a file cannot be edited to name another public
key or weaker parameters without failing to open.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Final, Literal

import nacl.bindings
import nacl.exceptions
import nacl.pwhash
import nacl.utils

from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair, fingerprint
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.protocol.envelope import SUITES, loads_strict
from hub.protocol.errors import CryptoError, ProtocolError

__all__ = [
    "STRENGTHS",
    "dump_key",
    "load_key",
    "read_key_file",
    "read_public_half",
    "write_key_file",
]

Key = IdentityKeyPair | EncryptionKeyPair
Strength = Literal["interactive", "moderate", "sensitive"]
STRENGTHS: Final[dict[str, tuple[int, int]]] = {
    "interactive": (
        nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
        nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE,
    ),
    "moderate": (nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE),
    "sensitive": (nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE, nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE),
}
_FORMAT: Final = "marac-hub-key"
_IDENTITY: Final = "ed25519"
_MAX_OPS: Final = 16
_MAX_MEM: Final = 2 * 1024**3
_MAX_FILE: Final = 64 * 1024
_MIN_CIPHERTEXT: Final = 32 + 16  # the shortest private key and the tag


def _passphrase(passphrase: str | bytes) -> bytes:
    raw = passphrase.encode() if isinstance(passphrase, str) else passphrase
    if not raw:
        raise ValueError("the passphrase must not be empty")
    return raw


def _derive(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    key: bytes = nacl.pwhash.argon2id.kdf(
        nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
        passphrase,
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )
    return key


def dump_key(key: Key, passphrase: str | bytes, *, strength: Strength = "moderate") -> bytes:
    """Serialise ``key`` encrypted under ``passphrase``."""
    opslimit, memlimit = STRENGTHS[strength]
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    nonce = nacl.utils.random(nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    kind = _IDENTITY if isinstance(key, IdentityKeyPair) else key.suite
    public = key.public.raw
    meta: dict[str, Any] = {
        "format": _FORMAT,
        "v": 1,
        "kind": kind,
        "public": b64encode(public),
        "fingerprint": key.fingerprint,
        "kdf": {
            "alg": "argon2id13",
            "opslimit": opslimit,
            "memlimit": memlimit,
            "salt": b64encode(salt),
        },
        "nonce": b64encode(nonce),
    }
    secret = _derive(_passphrase(passphrase), salt, opslimit, memlimit)
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        key.private_bytes(), canonical_json(meta), nonce, secret
    )
    return canonical_json({**meta, "ciphertext": b64encode(ciphertext)})


def load_key(data: bytes, passphrase: str | bytes) -> Key:
    """Decrypt a key file's bytes. ``CryptoError``: ``wrong-passphrase`` or ``bad-key-file``."""
    meta = _parse(data)
    kdf = meta["kdf"]
    secret = _derive(
        _passphrase(passphrase), b64decode(kdf["salt"]), kdf["opslimit"], kdf["memlimit"]
    )
    ciphertext = b64decode(meta.pop("ciphertext"))
    try:
        private = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext, canonical_json(meta), b64decode(meta["nonce"]), secret
        )
    except nacl.exceptions.CryptoError:
        raise CryptoError(
            "wrong passphrase, or the key file is damaged", code="wrong-passphrase"
        ) from None
    try:
        key: Key = (
            IdentityKeyPair.from_private_bytes(private)
            if meta["kind"] == _IDENTITY
            else EncryptionKeyPair(meta["kind"], private)
        )
    except ValueError:
        raise CryptoError("key file holds a malformed key", code="bad-key-file") from None
    if b64encode(key.public.raw) != meta["public"] or key.fingerprint != meta["fingerprint"]:
        raise CryptoError(
            "key file's public key does not match its private key", code="bad-key-file"
        )
    return key


def read_public_half(path: Path) -> tuple[str, str]:
    """The kind and fingerprint a key file's public half names, read without the
    passphrase (``CryptoError`` ``bad-key-file`` if it is not a key file). Only opening
    it (``read_key_file``) proves the file's private key is that public key's."""
    try:
        meta = _parse(path.read_bytes())
    except OSError as exc:
        raise CryptoError(
            f"cannot read key file {path}: {exc.strerror}", code="bad-key-file"
        ) from None
    return str(meta["kind"]), fingerprint(b64decode(meta["public"]))


def _parse(data: bytes) -> dict[str, Any]:
    bad = CryptoError("not a marac-hub key file", code="bad-key-file")
    if len(data) > _MAX_FILE:
        raise bad
    try:
        meta = loads_strict(data)
        expected = {"format", "v", "kind", "public", "fingerprint", "kdf", "nonce", "ciphertext"}
        if not isinstance(meta, dict) or set(meta) != expected or meta["format"] != _FORMAT:
            raise bad
        kdf = meta["kdf"]
        if (
            meta["v"] != 1
            or meta["kind"] not in {_IDENTITY, *SUITES}
            or not isinstance(kdf, dict)
            or set(kdf) != {"alg", "opslimit", "memlimit", "salt"}
            or kdf["alg"] != "argon2id13"
        ):
            raise bad
        ops, mem = kdf["opslimit"], kdf["memlimit"]
        if type(ops) is not int or type(mem) is not int:
            raise bad
        if not (
            STRENGTHS["interactive"][0] <= ops <= _MAX_OPS
            and STRENGTHS["interactive"][1] <= mem <= _MAX_MEM
        ):
            raise bad
        if len(b64decode(kdf["salt"])) != nacl.pwhash.argon2id.SALTBYTES:
            raise bad
        if len(b64decode(meta["nonce"])) != 24:
            raise bad
        if len(b64decode(meta["ciphertext"])) < _MIN_CIPHERTEXT:
            raise bad
    except ProtocolError:
        raise bad from None
    return meta


def write_key_file(
    path: Path, key: Key, passphrase: str | bytes, *, strength: Strength = "moderate"
) -> None:
    """Write ``key`` to ``path`` atomically, readable by the owner only (a directory it
    makes: the owner's only)."""
    data = dump_key(key, passphrase, strength=strength)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # 0600 whatever the umask
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_key_file(path: Path, passphrase: str | bytes) -> Key:
    """Read and decrypt the key file at ``path``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CryptoError(
            f"cannot read key file {path}: {exc.strerror}", code="bad-key-file"
        ) from None
    return load_key(data, passphrase)
