"""Key pairs, fingerprints and passphrase-protected key files."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import nacl.bindings
import pytest

from hub.crypto import keys
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
    for _ in range(2):  # a refusal is not remembered as a key
        with pytest.raises(ValueError):
            EncryptionPublicKey.known(SUITE_X25519, point)


@pytest.mark.parametrize("suite", [SUITE_X25519, SUITE_HYBRID])
def test_known_key_is_checked_once_and_is_the_same_key(
    suite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[bytes] = []
    probe = keys._refuse_low_order
    monkeypatch.setattr(keys, "_refuse_low_order", lambda raw: probes.append(raw) or probe(raw))
    raw = EncryptionKeyPair.generate(suite).public.raw
    probes.clear()
    first = EncryptionPublicKey.known(suite, bytearray(raw))
    for _ in range(3):
        assert EncryptionPublicKey.known(suite, raw) is first
    assert probes == [raw[-32:]]  # probed the first time only
    assert first == EncryptionPublicKey(suite, raw)
    assert first.fingerprint == hashlib.sha256(raw).hexdigest()
    assert EncryptionPublicKey.known(suite, raw) is first
    other = EncryptionKeyPair.generate(suite).public.raw
    assert EncryptionPublicKey.known(suite, other) != first


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


_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493  # order of the base point
_D = -121665 * pow(121666, -1, _P) % _P
_IDENTITY_POINT = (1).to_bytes(32, "little")  # y = 1: the neutral element
_ORDER_8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")


def _edwards_add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x = (x1 * y2 + x2 * y1) * pow(1 + t, -1, _P) % _P
    return x, (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P


def _edwards_mul(k: int, point: tuple[int, int]) -> tuple[int, int]:
    result = (0, 1)
    while k:
        if k & 1:
            result = _edwards_add(result, point)
        point, k = _edwards_add(point, point), k >> 1
    return result


def _torsion_points() -> set[tuple[int, int]]:
    """The 8 points of small order: [L]Q for a curve point Q generates them."""
    y = 3
    while True:
        x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
        x = pow(x2, (_P + 3) // 8, _P)
        if (x * x - x2) % _P:
            x = x * pow(2, (_P - 1) // 4, _P) % _P
        if (x * x - x2) % _P == 0:
            torsion = _edwards_mul(_L, (x, y))
            points, current = set(), torsion
            for _ in range(8):
                points.add(current)
                current = _edwards_add(current, torsion)
            if len(points) == 8:
                return points
        y += 1


def test_small_order_blocklist_is_every_small_order_point() -> None:
    """The OpenSSL path's checks use libsodium's blocklist: prove it is complete."""
    ys = {y for _, y in _torsion_points()}
    assert len(ys) == 5  # 1, -1, 0 and the two y of the order-8 points
    expected = {y.to_bytes(32, "little") for y in ys}
    expected |= {(y + _P).to_bytes(32, "little") for y in ys if y + _P < 2**255}
    assert expected == keys._SMALL_ORDER


def _small_order_encodings() -> list[bytes]:
    out = []
    for point in sorted(keys._SMALL_ORDER):
        out += [point, point[:31] + bytes((point[31] | 0x80,))]  # either sign of x
    return out


@pytest.mark.parametrize("public", _small_order_encodings(), ids=lambda b: b.hex()[:8])
@pytest.mark.parametrize("size", [0, 7, 70_000])
def test_small_order_public_key_verifies_nothing(
    public: bytes, size: int, ed25519_path: str
) -> None:
    """R = identity, S = 0 satisfies [S]B = R + [k]A for every message when A has small
    order: OpenSSL (and so ``cryptography``) accepts it for any message; libsodium refuses
    small-order and non-canonical keys and R, and so does our OpenSSL path."""
    message = bytes(size)
    key = IdentityPublicKey.from_bytes(public)
    for r in _small_order_encodings():
        assert not key.verify(r + bytes(32), message)


def _scalar(data: bytes) -> int:
    return int.from_bytes(data, "little") % _L


def _mixed_order_signature(message: bytes, *, k_multiple_of_8: bool) -> tuple[bytes, bytes]:
    """A key A + T (T of order 8) and a signature S = r + k a of ``message``.

    Cofactorless verification (both libraries) checks [S]B = R + [k](A + T), which
    holds only when [k]T is the identity, i.e. k is a multiple of 8.
    """
    a = _scalar(os.urandom(64))
    public = nacl.bindings.crypto_core_ed25519_add(
        nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(a.to_bytes(32, "little")), _ORDER_8
    )
    while True:
        r = _scalar(os.urandom(64))
        big_r = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(r.to_bytes(32, "little"))
        k = _scalar(hashlib.sha512(big_r + public + message).digest())
        if (k % 8 == 0) is k_multiple_of_8:
            return public, big_r + ((r + k * a) % _L).to_bytes(32, "little")


def _base(scalar: int) -> bytes:
    return nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(scalar.to_bytes(32, "little"))


@pytest.mark.parametrize("size", [10, 70_000])
def test_identity_r_is_refused(size: int, ed25519_path: str) -> None:
    """R = identity and S = k a satisfy the equation: OpenSSL accepts such a signature
    (from the key's owner: one whose R commits to nothing); libsodium and we refuse it."""
    message, a = os.urandom(size), _scalar(os.urandom(64))
    public = _base(a)
    k = _scalar(hashlib.sha512(_IDENTITY_POINT + public + message).digest())
    signature = _IDENTITY_POINT + (k * a % _L).to_bytes(32, "little")
    assert not IdentityPublicKey.from_bytes(public).verify(signature, message)


@pytest.mark.parametrize("size", [10, 70_000])
def test_signature_forged_for_a_small_order_key_is_refused(size: int, ed25519_path: str) -> None:
    """With A = T of order 8 and R = [r]B - T, [S]B = R + [k]A holds for S = r whenever
    k = 1 mod 8: anyone can forge for such a key. OpenSSL accepts; we refuse."""
    message = os.urandom(size)
    while True:
        r = _scalar(os.urandom(64))
        big_r = nacl.bindings.crypto_core_ed25519_sub(_base(r), _ORDER_8)
        if _scalar(hashlib.sha512(big_r + _ORDER_8 + message).digest()) % 8 == 1:
            break
    signature = big_r + r.to_bytes(32, "little")
    assert not IdentityPublicKey.from_bytes(_ORDER_8).verify(signature, message)


@pytest.mark.parametrize("excess", range(2**255 - _P))
@pytest.mark.parametrize("sign", [0, 1])
def test_non_canonical_public_key_is_refused(excess: int, sign: int, ed25519_path: str) -> None:
    """y = p + excess, the second encoding of y = excess: libsodium refuses it as a key."""
    raw = (_P + excess + (sign << 255)).to_bytes(32, "little")
    key = IdentityPublicKey.from_bytes(raw)
    assert not key._strict
    assert not key.verify(_IDENTITY_POINT + bytes(32), b"")


@pytest.mark.parametrize("size", [10, 70_000])
@pytest.mark.parametrize("k_multiple_of_8", [True, False])
def test_mixed_order_key_gets_the_cofactorless_verdict_on_both_paths(
    size: int, k_multiple_of_8: bool, ed25519_path: str
) -> None:
    message = os.urandom(size)
    public, signature = _mixed_order_signature(message, k_multiple_of_8=k_multiple_of_8)
    assert IdentityPublicKey.from_bytes(public).verify(signature, message) is k_multiple_of_8


@pytest.mark.parametrize(
    "size", [0, 1, 6 * 1024 - 1, 6 * 1024, 6 * 1024 + 1, 48 * 1024, 48 * 1024 + 1, 200_000]
)
def test_both_libraries_sign_and_verify_alike_either_side_of_the_crossovers(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity, message = IdentityKeyPair.generate(), os.urandom(size)
    default = identity.sign(message)
    verdicts = []
    for limit in (2**62, -1):  # all libsodium, then all OpenSSL
        monkeypatch.setattr(keys, "_SODIUM_SIGN_MAX", limit)
        monkeypatch.setattr(keys, "_SODIUM_VERIFY_MAX", limit)
        assert identity.sign(message) == default  # RFC 8032 signatures are deterministic
        verdicts.append(identity.public.verify(default, message))
        verdicts.append(identity.public.verify(default, message + b"x"))
    assert verdicts == [True, False, True, False]


def test_signature_with_non_canonical_s_is_refused(ed25519_path: str) -> None:
    identity = IdentityKeyPair.generate()
    signature = identity.sign(b"agenda")
    s = int.from_bytes(signature[32:], "little")
    malleated = signature[:32] + (s + _L).to_bytes(32, "little")
    assert identity.public.verify(signature, b"agenda")
    assert not identity.public.verify(malleated, b"agenda")


@pytest.mark.parametrize("cut", [0, 1, 63, 65, 128])
def test_signature_of_the_wrong_length_is_refused(cut: int, ed25519_path: str) -> None:
    identity = IdentityKeyPair.generate()
    signature = (identity.sign(b"agenda") * 2)[:cut]
    assert not identity.public.verify(signature, b"agenda")
    # A longer "signature" must not be read as a signature followed by message bytes.
    assert not identity.public.verify(identity.sign(b"agenda") + b"x", b"agenda")


def test_identity_key_pair_does_not_show_its_secret() -> None:
    identity = IdentityKeyPair.generate()
    encryption = EncryptionKeyPair.generate()
    assert identity.private_bytes().hex() not in repr(identity)
    assert str(identity.private_bytes()) not in repr(identity)
    assert str(encryption.private_bytes()) not in repr(encryption)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_identity_keys_of_the_wrong_size_are_value_errors(size: int) -> None:
    with pytest.raises(ValueError):
        IdentityKeyPair.from_private_bytes(bytes(size))
    with pytest.raises(ValueError):
        IdentityPublicKey.from_bytes(bytes(size))


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
