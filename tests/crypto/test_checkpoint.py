"""Checkpoints (C2SP tlog-checkpoint) and cosignatures (C2SP tlog-cosignature): the
specs' examples, round trips, and malformed, oversized and hostile input refused."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

import pytest
from vectors import load_vectors

from hub.crypto.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    Cosigner,
    checkpoint_origin,
    hub_verifier,
    open_checkpoint,
    parse_cosignature_lines,
    sign_checkpoint,
    witness_name,
)
from hub.crypto.keys import IdentityKeyPair, IdentityPublicKey
from hub.crypto.signed_note import NoteSignature, b64_std_decode, parse_note, verify_note
from hub.protocol.errors import CryptoError, ProtocolError

V: dict[str, Any] = load_vectors("note/c2sp_signed_note_vectors.json")
HUB = IdentityKeyPair.generate()
ORIGIN = checkpoint_origin("test")
ROOT = hashlib.sha256(b"root").digest()
WITNESS = Cosigner(witness_name("police", ORIGIN), IdentityKeyPair.generate())


def test_origin_and_witness_names() -> None:
    assert ORIGIN == "marac-hub.test/log"
    assert WITNESS.name == "police.witness.marac-hub.test/log"


def test_the_spec_example_parses_with_its_cosignature_timestamp() -> None:
    case = V["checkpoint_example"]
    note = parse_note(case["note"])
    cp = Checkpoint.parse(note.text)
    assert (cp.origin, cp.size, base64.b64encode(cp.root).decode()) == (
        case["origin"],
        case["size"],
        case["root_b64"],
    )
    assert cp.text() == note.text
    cosig = note.signatures[1].signature
    assert len(cosig) == 72
    assert struct.unpack(">Q", cosig[:8])[0] == case["cosignature_timestamp"]


def test_cosignature_key_ids_match_transparency_dev() -> None:
    # The vkey form of a cosigner key (type 0x04): name, key ID, key; the ID recomputed.
    for case in V["cosignature_vkeys"]:
        name, hex_id, encoded = case["vkey"].split("+")
        if not case["valid"]:
            assert b64_std_decode(encoded)[0] != 0x04
            continue
        raw = b64_std_decode(encoded)
        verifier = CosignatureVerifier(name, IdentityPublicKey.from_bytes(raw[1:]))
        assert verifier.key_id.hex() == hex_id
        assert verifier.vkey() == case["vkey"]


def test_cosignature_timestamp_layout_matches_transparency_dev() -> None:
    for case in V["cosignature_timestamps"]:
        raw = base64.b64decode(case["signature_b64"])
        assert struct.unpack(">Q", raw[4:12])[0] == case["timestamp"]


def test_hub_signs_and_a_client_opens_a_checkpoint() -> None:
    cp = Checkpoint(ORIGIN, 12, ROOT)
    note = sign_checkpoint(HUB, cp)
    assert note.text == f"{ORIGIN}\n12\n{base64.b64encode(ROOT).decode()}\n"
    opened = open_checkpoint(note.encode(), hub_verifier(ORIGIN, HUB.public))
    assert opened.checkpoint == cp
    with pytest.raises(CryptoError):
        open_checkpoint(note.encode(), hub_verifier(ORIGIN, IdentityKeyPair.generate().public))
    with pytest.raises(ProtocolError, match="another log"):
        open_checkpoint(note.encode(), hub_verifier("other/log", HUB.public))


def test_cosignature_verifies_and_binds_checkpoint_and_time() -> None:
    cp = Checkpoint(ORIGIN, 12, ROOT)
    sig = WITNESS.cosign(cp, 1_700_000_000)
    assert WITNESS.verifier.check(cp, sig) == 1_700_000_000
    witnessed = sign_checkpoint(HUB, cp).with_signatures([sig])
    opened = open_checkpoint(witnessed.encode(), hub_verifier(ORIGIN, HUB.public))
    assert opened.cosignatures([WITNESS.verifier]) == {WITNESS.name: 1_700_000_000}
    # A note verifier: verify_note accepts the cosignature key as a known key.
    assert verify_note(witnessed, [WITNESS.verifier]) == [sig]
    other = Checkpoint(ORIGIN, 13, ROOT)
    with pytest.raises(CryptoError):
        WITNESS.verifier.check(other, sig)
    moved = NoteSignature(
        sig.name, sig.key_id, struct.pack(">Q", 1_700_000_001) + sig.signature[8:]
    )
    with pytest.raises(CryptoError):
        WITNESS.verifier.check(cp, moved)


def test_a_plain_note_signature_is_not_a_cosignature() -> None:
    # The same key signing the bare checkpoint text (type 0x01) must not pass as 0x04.
    cp = Checkpoint(ORIGIN, 1, ROOT)
    plain = sign_checkpoint(WITNESS.key, Checkpoint(WITNESS.name, 1, ROOT)).signatures[0]
    forged = NoteSignature(WITNESS.name, WITNESS.verifier.key_id, b"\0" * 8 + plain.signature)
    with pytest.raises(CryptoError):
        WITNESS.verifier.check(cp, forged)


def test_extension_lines_are_signed() -> None:
    cp = Checkpoint(ORIGIN, 2, ROOT, ("ext one",))
    note = sign_checkpoint(HUB, cp)
    assert Checkpoint.parse(note.text) == cp
    sig = WITNESS.cosign(cp, 5)
    with pytest.raises(CryptoError):
        WITNESS.verifier.check(Checkpoint(ORIGIN, 2, ROOT, ("ext two",)), sig)


B64 = base64.b64encode(ROOT).decode()
URLSAFE = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        f"o\n1\n{B64}",  # no final newline
        "o\n1\n",  # two lines
        f"o\n01\n{B64}\n",  # leading zero
        f"o\n-1\n{B64}\n",
        f"o\n+1\n{B64}\n",
        f"o\n 1\n{B64}\n",
        f"o\n1.0\n{B64}\n",
        f"o\n{2**63}\n{B64}\n",  # beyond 2**63 - 1
        f"o\n{'9' * 40}\n{B64}\n",
        f"o\n1\n{B64[:-4]}\n",  # short root
        f"o\n1\n{base64.b64encode(ROOT + b'x').decode()}\n",
        f"o\n1\n{URLSAFE}\n",  # base64url
        f"o o\n1\n{B64}\n",  # space in origin
        f"o+x\n1\n{B64}\n",
        f"\n1\n{B64}\n",
        f"o\n1\n{B64}\n\n",  # empty extension line
        f"o\n1\n{B64}\n" + "e\n" * 17,  # too many extension lines
        f"o\n\u0661\n{B64}\n",  # Arabic-Indic digit one
    ],
)
def test_malformed_checkpoint_text_is_refused(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        Checkpoint.parse(text)
    assert caught.value.code in {"bad-checkpoint", "bad-note"}


def test_largest_size_is_accepted() -> None:
    assert Checkpoint.parse(f"o\n{2**63 - 1}\n{B64}\n").size == 2**63 - 1
    assert Checkpoint.parse(f"o\n0\n{B64}\n").size == 0


def test_cosignature_lines_parse_strictly() -> None:
    cp = Checkpoint(ORIGIN, 3, ROOT)
    line = WITNESS.cosign(cp, 9).line().encode()
    assert parse_cosignature_lines(line) == [WITNESS.cosign(cp, 9)]
    for hostile in (b"", line[:-1], line + b"\n" + line, b"x\n" + line, line * 101, b"\0" + line):
        with pytest.raises(ProtocolError) as caught:
            parse_cosignature_lines(hostile)
        assert caught.value.code == "bad-cosignature"


def test_cosigner_refuses_a_zero_or_huge_timestamp() -> None:
    cp = Checkpoint(ORIGIN, 3, ROOT)
    for bad in (0, -1, 2**63):
        with pytest.raises(ValueError):
            WITNESS.cosign(cp, bad)
    huge = NoteSignature(WITNESS.name, WITNESS.verifier.key_id, b"\xff" * 72)
    with pytest.raises(CryptoError):
        WITNESS.verifier.check(cp, huge)
