"""Key pairs, fingerprints and passphrase-protected key files."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from hub.crypto.keyfile import dump_key, load_key, read_key_file, write_key_file
from hub.crypto.keys import (
    EncryptionKeyPair,
    EncryptionPublicKey,
    IdentityKeyPair,
    IdentityPublicKey,
)
from hub.protocol import SUITE_HYBRID, SUITE_X25519, CryptoError, b64encode

FAST = "interactive"  # Argon2id parameters are checked separately; tests use the quick ones


def test_fingerprint_is_sha256_of_raw_public_bytes() -> None:
    identity = IdentityKeyPair.generate()
    assert identity.fingerprint == hashlib.sha256(identity.public.raw).hexdigest()
    assert len(identity.public.raw) == 32
    hybrid = EncryptionKeyPair.generate(SUITE_HYBRID)
    assert len(hybrid.public.raw) == 1184 + 32
    assert hybrid.fingerprint == hashlib.sha256(hybrid.public.raw).hexdigest()


@pytest.mark.parametrize("suite", [SUITE_X25519, SUITE_HYBRID])
def test_encryption_key_round_trips_through_private_bytes(suite: str) -> None:
    key = EncryptionKeyPair.generate(suite)
    again = EncryptionKeyPair(suite, key.private_bytes())
    assert again.public == key.public
    assert EncryptionPublicKey(suite, key.public.raw) == key.public


def test_malformed_keys_are_value_errors() -> None:
    with pytest.raises(ValueError):
        EncryptionKeyPair(SUITE_X25519, b"short")
    with pytest.raises(ValueError):
        EncryptionKeyPair(SUITE_HYBRID, bytes(32))
    with pytest.raises(ValueError):
        EncryptionPublicKey(SUITE_HYBRID, bytes(32))
    with pytest.raises(ValueError):
        EncryptionKeyPair.generate("rot13")
    with pytest.raises(ValueError):
        IdentityPublicKey.from_bytes(bytes(31))


@pytest.mark.parametrize("point", [bytes(32), (1).to_bytes(32, "little")])
def test_low_order_x25519_public_key_is_refused(point: bytes) -> None:
    """Sealing to such a key would give every attacker the shared secret."""
    with pytest.raises(ValueError):
        EncryptionPublicKey(SUITE_X25519, point)
    hybrid = EncryptionKeyPair.generate(SUITE_HYBRID).public.raw
    with pytest.raises(ValueError):
        EncryptionPublicKey(SUITE_HYBRID, hybrid[:-32] + point)


def test_key_file_with_truncated_ciphertext_is_bad() -> None:
    meta = json.loads(dump_key(IdentityKeyPair.generate(), "pw", strength=FAST))
    meta["ciphertext"] = b64encode(bytes(8))
    with pytest.raises(CryptoError) as info:
        load_key(json.dumps(meta).encode(), "pw")
    assert info.value.code == "bad-key-file"


def test_identity_signs_and_verifies() -> None:
    identity = IdentityKeyPair.generate()
    signature = identity.sign(b"agenda")
    assert identity.public.verify(signature, b"agenda")
    assert not identity.public.verify(signature, b"agendA")
    assert not IdentityKeyPair.generate().public.verify(signature, b"agenda")


@pytest.mark.parametrize(
    "make",
    [
        IdentityKeyPair.generate,
        EncryptionKeyPair.generate,
        lambda: EncryptionKeyPair.generate(SUITE_HYBRID),
    ],
)
def test_key_file_round_trip(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    key = make()
    path = tmp_path / "keys" / "identity.key"
    write_key_file(path, key, "correct horse battery staple", strength=FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = read_key_file(path, "correct horse battery staple")
    assert type(loaded) is type(key)
    assert loaded.private_bytes() == key.private_bytes()
    assert key.private_bytes() not in path.read_bytes()
    assert b64encode(key.private_bytes()).encode() not in path.read_bytes()


def test_wrong_passphrase_is_a_clear_error() -> None:
    data = dump_key(IdentityKeyPair.generate(), "right", strength=FAST)
    with pytest.raises(CryptoError) as info:
        load_key(data, "wrong")
    assert info.value.code == "wrong-passphrase"
    assert "passphrase" in info.value.diagnostics()


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(ValueError):
        dump_key(IdentityKeyPair.generate(), "", strength=FAST)


def test_default_strength_is_moderate_argon2id() -> None:
    meta = json.loads(dump_key(IdentityKeyPair.generate(), "pw"))
    assert meta["kdf"]["alg"] == "argon2id13"
    assert meta["kdf"]["memlimit"] >= 256 * 1024 * 1024


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("public", b64encode(bytes(32))),  # swap in another public key
        ("kind", SUITE_X25519),  # claim another kind
        ("fingerprint", "0" * 64),
    ],
)
def test_edited_metadata_does_not_open(field: str, value: str) -> None:
    meta = json.loads(dump_key(IdentityKeyPair.generate(), "pw", strength=FAST))
    meta[field] = value
    with pytest.raises(CryptoError):
        load_key(json.dumps(meta).encode(), "pw")


def test_weakened_kdf_parameters_do_not_open() -> None:
    meta = json.loads(dump_key(IdentityKeyPair.generate(), "pw", strength=FAST))
    meta["kdf"]["opslimit"] = 3
    with pytest.raises(CryptoError) as info:
        load_key(json.dumps(meta).encode(), "pw")
    assert info.value.code == "wrong-passphrase"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'{"format": "marac-hub-key"}',
        b"{" * 100_000,
        b"x" * 1_000_000,
    ],
)
def test_garbage_is_a_bad_key_file(data: bytes) -> None:
    with pytest.raises(CryptoError) as info:
        load_key(data, "pw")
    assert info.value.code == "bad-key-file"


@pytest.mark.parametrize(("ops", "mem"), [(1, 64 * 1024**2), (3, 2**40), (10**9, 64 * 1024**2)])
def test_hostile_kdf_parameters_are_refused_before_hashing(ops: int, mem: int) -> None:
    """A key file cannot make the loader burn a terabyte or a billion passes."""
    meta = json.loads(dump_key(IdentityKeyPair.generate(), "pw", strength=FAST))
    meta["kdf"].update(opslimit=ops, memlimit=mem)
    with pytest.raises(CryptoError) as info:
        load_key(json.dumps(meta).encode(), "pw")
    assert info.value.code == "bad-key-file"


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CryptoError) as info:
        read_key_file(tmp_path / "absent.key", "pw")
    assert "absent.key" in info.value.message
