"""Signed notes (C2SP signed-note): other implementations' vectors, round trips, and
malformed, oversized and hostile notes refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from vectors import load_vectors

from hub.crypto.keys import IdentityKeyPair
from hub.crypto.signed_note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Ed25519Verifier,
    NoteSigner,
    parse_note,
    sign_note,
    verify_note,
)
from hub.protocol.errors import CryptoError, ProtocolError

V: dict[str, Any] = load_vectors("note/c2sp_signed_note_vectors.json")
KEY = IdentityKeyPair.generate()
SIGNER = NoteSigner("marac-hub.test/log", KEY)


@pytest.mark.parametrize("case", V["ed25519_notes"], ids=lambda c: c["vkey"].split("+")[0])
def test_notes_signed_by_other_implementations_verify(case: dict[str, str]) -> None:
    verifier = Ed25519Verifier.from_vkey(case["vkey"])
    assert verifier.vkey() == case["vkey"]  # key ID computed as they do
    note = parse_note(case["note"])
    assert note.text == case["text"]
    assert note.encode().decode() == case["note"]
    assert [s.name for s in verify_note(note, [verifier])] == [verifier.name]


def test_signing_with_x_mod_private_key_gives_its_exact_note() -> None:
    case = V["ed25519_notes"][1]
    raw = base64.b64decode(case["skey"].split("+", 4)[4])  # PRIVATE+KEY+name+id+key
    assert raw[0] == 1
    signer = NoteSigner("PeterNeumann", IdentityKeyPair.from_private_bytes(raw[1:]))
    assert signer.verifier.vkey() == case["vkey"]
    assert sign_note(case["text"], signer).encode().decode() == case["note"]


def test_unknown_signatures_are_ignored_but_kept() -> None:
    note = parse_note(V["x_mod_two_signatures"])
    peter = Ed25519Verifier.from_vkey(V["ed25519_notes"][1]["vkey"])
    enoch = Ed25519Verifier.from_vkey(V["ed25519_notes"][2]["vkey"])
    assert [s.name for s in verify_note(note, [peter])] == ["PeterNeumann"]
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert len(verify_note(note, [peter, enoch])) == 2
    with pytest.raises(CryptoError, match="no signature from a known key"):
        verify_note(note, [])


def test_same_name_other_key_is_unknown_not_a_failure() -> None:
    note = parse_note(V["x_mod_two_signatures"])
    impostor = Ed25519Verifier("PeterNeumann", KEY.public)  # same name, other key ID
    with pytest.raises(CryptoError, match="no signature from a known key"):
        verify_note(note, [impostor])


def test_a_known_key_with_a_bad_signature_rejects_the_note() -> None:
    peter = Ed25519Verifier.from_vkey(V["ed25519_notes"][1]["vkey"])
    with pytest.raises(CryptoError, match="does not verify"):
        verify_note(parse_note(V["x_mod_invalid_signature"]), [peter])


@pytest.mark.parametrize("text", V["x_mod_malformed_notes"])
def test_malformed_notes_from_x_mod_are_refused(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_note(text)
    assert caught.value.code == "bad-note"


def test_a_note_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ProtocolError, match="UTF-8"):
        parse_note(bytes.fromhex(V["x_mod_malformed_note_hex"][0]))


@pytest.mark.parametrize("vkey", V["x_mod_bad_vkeys"])
def test_bad_vkeys_from_x_mod_are_refused(vkey: str) -> None:
    with pytest.raises(ProtocolError):
        Ed25519Verifier.from_vkey(vkey)


def test_every_mangling_of_a_vkey_is_refused() -> None:
    # As x/mod's TestNewVerifier: every proper substring and every one-byte change.
    vkey = V["ed25519_notes"][1]["vkey"]
    for i in range(len(vkey)):
        for j in range(i + 1, len(vkey) + 1):
            if (i, j) != (0, len(vkey)):
                with pytest.raises(ProtocolError):
                    Ed25519Verifier.from_vkey(vkey[i:j])
        changed = vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :]
        with pytest.raises(ProtocolError):
            Ed25519Verifier.from_vkey(changed)


def test_round_trip_and_tampered_text_fails() -> None:
    note = sign_note("hello\nworld\n", SIGNER)
    again = parse_note(note.encode())
    assert again == note
    verify_note(again, [SIGNER.verifier])
    tampered = note.encode().replace(b"world", b"wirld")
    with pytest.raises(CryptoError):
        verify_note(parse_note(tampered), [SIGNER.verifier])


def test_note_text_may_hold_blank_lines_split_at_the_last() -> None:
    note = sign_note("a\n\nb\n", SIGNER)
    assert parse_note(note.encode()).text == "a\n\nb\n"


def test_repeated_signature_lines_count_once() -> None:
    note = sign_note("x\n", SIGNER)
    doubled = note.encode() + note.signatures[0].line().encode()
    assert len(verify_note(parse_note(doubled), [SIGNER.verifier])) == 1


@pytest.mark.parametrize(
    "hostile",
    [
        b"",
        b"\n",
        b"\n\n",
        b"x\n\n\n",
        b"x\r\n\r\n\xe2\x80\x94 a AAAAAAA=\r\n",  # CRLF
        b"x\n\n\xe2\x80\x94 a AAAAAAA=",  # no final newline
        b"x\n\n- a AAAAAAA=\n",  # hyphen, not em dash
        b"x\n\n\xe2\x80\x94 a  AAAAAAA=\n",  # two spaces
        b"x\n\n\xe2\x80\x94 a+b AAAAAAA=\n",  # plus in the name
        b"x\n\n\xe2\x80\x94  AAAAAAA=\n",  # empty name
        b"x\n\n\xe2\x80\x94 a AAAA\n",  # shorter than key ID + 1
        b"x\n\n\xe2\x80\x94 a AAAAAAA\n",  # unpadded
        b"x\n\n\xe2\x80\x94 a AAAAAAB=\n",  # non-zero unused bits
        b"x\n\n\xe2\x80\x94 a AAAA AAA=\n",
        b"x\n\n\xe2\x80\x94 a A-_AAAA=\n",  # base64url alphabet
        b"x\x00\n\n\xe2\x80\x94 a AAAAAAA=\n",  # NUL
        b"x\x1b[31m\n\n\xe2\x80\x94 a AAAAAAA=\n",  # terminal escape
        b"x\n\n\xe2\x80\x94 a\x7f AAAAAAA=\n",  # DEL in the name
        b"x\n\n\xe2\x80\x94 \xe2\x80\x83a AAAAAAA=\n",  # Unicode em space in the name
        b"\xc3\x28\n\n\xe2\x80\x94 a AAAAAAA=\n",  # invalid UTF-8
        b"\xed\xa0\x80\n\n\xe2\x80\x94 a AAAAAAA=\n",  # encoded surrogate
        b"x\n\n\xe2\x80\x94 " + b"n" * 257 + b" AAAAAAA=\n",  # name too long
    ],
)
def test_hostile_notes_are_refused(hostile: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_note(hostile)
    assert caught.value.code == "bad-note"


def test_oversized_notes_are_refused() -> None:
    line = sign_note("x\n", SIGNER).signatures[0].line().encode()
    assert parse_note(b"x\n\n" + line * MAX_SIGNATURES)
    with pytest.raises(ProtocolError, match="too many signatures"):
        parse_note(b"x\n\n" + line * (MAX_SIGNATURES + 1))
    with pytest.raises(ProtocolError, match="too large"):
        parse_note(b"x" * MAX_NOTE_BYTES + b"\n\n" + line)


def test_at_least_sixteen_signatures_are_accepted() -> None:
    signers = [NoteSigner(f"w{i}", IdentityKeyPair.generate()) for i in range(16)]
    note = parse_note(sign_note("t\n", *signers).encode())
    assert len(verify_note(note, [s.verifier for s in signers])) == 16


def test_signing_refuses_bad_text_and_names() -> None:
    with pytest.raises(ProtocolError):
        sign_note("no newline", SIGNER)
    with pytest.raises(ProtocolError):
        sign_note("x\n", NoteSigner("bad name", KEY))
    with pytest.raises(ProtocolError):
        sign_note("x\x07\n", SIGNER)
