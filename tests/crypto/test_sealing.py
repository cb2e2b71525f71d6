"""seal/open: round trips for both suites and refusal of every tampering."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ulid import ULID

from hub.crypto import sealing
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import hpke_suite, open_envelope, seal
from hub.protocol import (
    SUITE_HYBRID,
    SUITE_X25519,
    Envelope,
    InvalidEnvelope,
    ProtocolError,
    b64decode,
    b64encode,
    canonical_json,
    parse_envelope,
)
from hub.protocol.messages import CaseExtract, Notice, payload_of

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
SUITES = [SUITE_X25519, SUITE_HYBRID]
HUB = IdentityKeyPair.generate()
OTHER_SENDER = IdentityKeyPair.generate()
KEYS = {suite: EncryptionKeyPair.generate(suite) for suite in SUITES}
OTHER_KEYS = {suite: EncryptionKeyPair.generate(suite) for suite in SUITES}
SAFE_INTS = st.integers(-(2**53) + 1, 2**53 - 1)  # the I-JSON range RFC 8785 allows
MANY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seal(suite: str, text: str = "Meeting moved to Thursday.", **kw: object) -> Envelope:
    args: dict[str, object] = {
        "sender": HUB,
        "sender_id": "hub",
        "recipient_id": "police-north",
        "recipient_key": KEYS[suite].public,
        "now": NOW,
        "case_ref": "M-2026-0001",
    }
    args.update(kw)
    return seal(Notice(text=text), **args)  # type: ignore[arg-type]


def _open(envelope: Envelope, suite: str) -> dict[str, object]:
    return open_envelope(envelope, recipient=KEYS[suite], sender=HUB.public).payload


def _refused(envelope: Envelope, suite: str) -> None:
    with pytest.raises(InvalidEnvelope) as info:
        _open(envelope, suite)
    assert str(info.value) == "the envelope could not be opened"  # opaque, whatever failed


@pytest.mark.parametrize("suite", SUITES)
def test_round_trip_through_wire_bytes(suite: str) -> None:
    envelope = _seal(suite)
    opened = open_envelope(
        parse_envelope(envelope.to_bytes()), recipient=KEYS[suite], sender=HUB.public
    )
    assert opened.message() == Notice(text="Meeting moved to Thursday.")
    assert opened.header == envelope.header
    assert opened.header.recipient_key == KEYS[suite].fingerprint
    assert opened.header.sender_key == HUB.fingerprint
    assert opened.header.suite == suite
    assert opened.header.sent_at == "2026-11-23T10:30:00.000000Z"
    assert b"Meeting" not in envelope.to_bytes()  # the payload is not in clear


@pytest.mark.parametrize("suite", SUITES)
@given(payload=st.dictionaries(st.text(max_size=20), st.text(max_size=200) | SAFE_INTS))
@settings(max_examples=200, deadline=None)
def test_round_trip_any_json_object(suite: str, payload: dict[str, object]) -> None:
    envelope = _seal_raw(suite, payload)
    assert _open(parse_envelope(envelope.to_bytes()), suite) == payload


def _seal_raw(suite: str, payload: dict[str, object]) -> Envelope:
    return seal(
        payload,
        message_type="notice",
        sender=HUB,
        sender_id="hub",
        recipient_id="idva",
        recipient_key=KEYS[suite].public,
        now=NOW,
    )


def test_typed_extract_round_trip_drops_unset_fields() -> None:
    extract = CaseExtract(
        case_ref="M-2026-0007",
        purpose="action_notice",
        policy_version="2026.1",
        lawful_basis={"id": "public-task", "version": 1},  # type: ignore[arg-type]
        perpetrator_must_not_know=True,
    )
    envelope = seal(
        extract,
        sender=HUB,
        sender_id="hub",
        recipient_id="housing-east",
        recipient_key=KEYS[SUITE_X25519].public,
        now=NOW,
        case_ref="M-2026-0007",
    )
    opened = open_envelope(envelope, recipient=KEYS[SUITE_X25519], sender=HUB.public)
    assert "victim" not in opened.payload
    assert opened.message() == extract


@pytest.mark.parametrize("suite", SUITES)
@given(data=st.data())
@MANY
def test_flipped_bit_in_ciphertext_is_refused(suite: str, data: st.DataObject) -> None:
    envelope = _seal(suite)
    bit = data.draw(st.integers(0, len(envelope.ciphertext) * 8 - 1))
    ct = bytearray(envelope.ciphertext)
    ct[bit // 8] ^= 1 << (bit % 8)
    _refused(replace(envelope, ciphertext=bytes(ct)), suite)


@pytest.mark.parametrize("suite", SUITES)
@given(data=st.data())
@MANY
def test_flipped_bit_anywhere_in_wire_bytes_is_refused(suite: str, data: st.DataObject) -> None:
    """Any single-bit change to the wire form fails to parse or fails to open."""
    wire = bytearray(_seal(suite).to_bytes())
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    try:
        envelope = parse_envelope(bytes(wire))
    except ProtocolError:
        return
    _refused(envelope, suite)


@pytest.mark.parametrize("suite", SUITES)
@given(data=st.data())
@settings(max_examples=500, deadline=None)
def test_truncated_envelope_is_refused(suite: str, data: st.DataObject) -> None:
    envelope = _seal(suite)
    wire = envelope.to_bytes()
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(ProtocolError):
        parse_envelope(wire[:cut])
    keep = data.draw(st.integers(0, len(envelope.ciphertext) - 1))
    _refused(replace(envelope, ciphertext=envelope.ciphertext[:keep]), suite)


HEADER_CHANGES = {
    "id": "01KAQZ0000000000000000000Z",
    "type": "agenda",
    "sender": "police-north",
    "recipient": "housing-east",
    "sent_at": "2026-11-23T10:30:00.000001Z",
    "case_ref": "M-2026-0002",
}


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("field", sorted(HEADER_CHANGES))
def test_altered_header_field_is_refused(suite: str, field: str) -> None:
    envelope = _seal(suite)
    _refused(
        replace(envelope, header=replace(envelope.header, **{field: HEADER_CHANGES[field]})), suite
    )


@pytest.mark.parametrize("suite", SUITES)
def test_header_removed_case_ref_is_refused(suite: str) -> None:
    envelope = _seal(suite)
    _refused(replace(envelope, header=replace(envelope.header, case_ref=None)), suite)


@pytest.mark.parametrize("suite", SUITES)
def test_header_moved_onto_another_ciphertext_is_refused(suite: str) -> None:
    first, second = _seal(suite, "first"), _seal(suite, "second")
    _refused(Envelope(header=first.header, ciphertext=second.ciphertext), suite)
    _refused(Envelope(header=second.header, ciphertext=first.ciphertext), suite)


@pytest.mark.parametrize("suite", SUITES)
def test_wrong_recipient_key_is_refused(suite: str) -> None:
    envelope = _seal(suite)
    with pytest.raises(InvalidEnvelope):
        open_envelope(envelope, recipient=OTHER_KEYS[suite], sender=HUB.public)
    # Even a header rewritten to name the other key does not open.
    forged = replace(envelope.header, recipient_key=OTHER_KEYS[suite].fingerprint)
    with pytest.raises(InvalidEnvelope):
        open_envelope(
            replace(envelope, header=forged), recipient=OTHER_KEYS[suite], sender=HUB.public
        )


def test_key_of_the_other_suite_is_refused() -> None:
    envelope = _seal(SUITE_X25519)
    with pytest.raises(InvalidEnvelope):
        open_envelope(envelope, recipient=KEYS[SUITE_HYBRID], sender=HUB.public)


@pytest.mark.parametrize("suite", SUITES)
def test_wrong_sender_key_is_refused(suite: str) -> None:
    envelope = _seal(suite)
    with pytest.raises(InvalidEnvelope):
        open_envelope(envelope, recipient=KEYS[suite], sender=OTHER_SENDER.public)
    impostor = _seal(suite, sender=OTHER_SENDER)  # signed by someone else, claims nothing
    _refused(impostor, suite)


def _reencrypt(envelope: Envelope, suite: str, inner: dict[str, object]) -> Envelope:
    """What anyone holding only the recipient's *public* key can do."""
    info = envelope.header.canonical()
    ct = hpke_suite(suite).encrypt(canonical_json(inner), KEYS[suite].public.key, info=info)
    return replace(envelope, ciphertext=ct)


def _inner(envelope: Envelope, suite: str) -> dict[str, object]:
    plaintext = hpke_suite(suite).decrypt(
        envelope.ciphertext, KEYS[suite].private, info=envelope.header.canonical()
    )
    inner: dict[str, object] = json.loads(plaintext)
    return inner


@pytest.mark.parametrize("suite", SUITES)
@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_flipped_bit_in_signature_is_refused(suite: str, data: st.DataObject) -> None:
    envelope = _seal(suite)
    inner = _inner(envelope, suite)
    signature = bytearray(b64decode(str(inner["signature"])))
    bit = data.draw(st.integers(0, len(signature) * 8 - 1))
    signature[bit // 8] ^= 1 << (bit % 8)
    _refused(
        _reencrypt(envelope, suite, {**inner, "signature": b64encode(bytes(signature))}), suite
    )


@pytest.mark.parametrize("suite", SUITES)
def test_reencrypted_altered_payload_is_refused(suite: str) -> None:
    """An attacker with the recipient's public key cannot change the signed payload."""
    envelope = _seal(suite)
    inner = _inner(envelope, suite)
    assert _open(_reencrypt(envelope, suite, inner), suite)  # control: untouched re-encryption
    _refused(_reencrypt(envelope, suite, {**inner, "payload": {"text": "Changed."}}), suite)
    _refused(_reencrypt(envelope, suite, {**inner, "extra": 1}), suite)
    _refused(
        _reencrypt(envelope, suite, {k: v for k, v in inner.items() if k != "signature"}), suite
    )


@pytest.mark.parametrize("suite", SUITES)
def test_surreptitious_forwarding_is_refused(suite: str) -> None:
    """A recipient cannot re-seal a signed message to a third party as if sent to it."""
    envelope = _seal(suite)
    inner = _inner(envelope, suite)
    forwarded_header = replace(
        envelope.header, recipient="housing-east", recipient_key=OTHER_KEYS[suite].fingerprint
    )
    ct = hpke_suite(suite).encrypt(
        canonical_json(inner), OTHER_KEYS[suite].public.key, info=forwarded_header.canonical()
    )
    with pytest.raises(InvalidEnvelope):
        open_envelope(
            Envelope(forwarded_header, ct), recipient=OTHER_KEYS[suite], sender=HUB.public
        )


@pytest.mark.parametrize("suite", SUITES)
def test_each_seal_is_fresh(suite: str) -> None:
    first, second = _seal(suite), _seal(suite)
    assert first.header.id != second.header.id
    assert first.ciphertext != second.ciphertext


def test_envelope_id_carries_the_send_time() -> None:

    later = NOW + timedelta(days=1)
    envelope = _seal(SUITE_X25519, now=later)
    assert ULID.from_str(envelope.header.id).datetime == later


def test_misuse_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        seal(
            {"text": "x"},
            sender=HUB,
            sender_id="hub",
            recipient_id="idva",
            recipient_key=KEYS[SUITE_X25519].public,
            now=NOW,
        )
    with pytest.raises(ValueError):
        seal(
            {"text": "x"},
            message_type="gossip",
            sender=HUB,
            sender_id="hub",
            recipient_id="idva",
            recipient_key=KEYS[SUITE_X25519].public,
            now=NOW,
        )
    with pytest.raises(ValueError):
        _seal(SUITE_X25519, now=datetime(2026, 1, 1))  # naive time


def test_header_is_checked_when_sealing() -> None:
    with pytest.raises(ProtocolError) as info:
        _seal(SUITE_X25519, recipient_id="Not A Valid Id")
    assert info.value.code == "malformed"


def test_oversized_payload_is_refused_when_sealing() -> None:
    with pytest.raises(ProtocolError) as info:
        _seal_raw(SUITE_X25519, {"text": "x" * (8 * 1024 * 1024)})
    assert info.value.code == "payload-too-large"


def test_integer_outside_ijson_range_is_refused_when_sealing() -> None:
    with pytest.raises(ProtocolError):
        _seal_raw(SUITE_X25519, {"n": 2**53})


@pytest.mark.parametrize("suite", SUITES)
def test_reencoded_equivalent_plaintext_is_refused(suite: str) -> None:
    """Only the exact signed bytes open: a re-encoding of them is not the sender's."""
    envelope = _seal(suite)
    inner = _inner(envelope, suite)
    info = envelope.header.canonical()
    for variant in (json.dumps(inner).encode(), json.dumps(inner, indent=1).encode()):
        ct = hpke_suite(suite).encrypt(variant, KEYS[suite].public.key, info=info)
        _refused(replace(envelope, ciphertext=ct), suite)


@given(st.binary(min_size=16, max_size=16))
def test_envelope_ids_are_written_as_python_ulid_writes_them(raw: bytes) -> None:
    assert sealing._ulid_text(raw) == str(ULID.from_bytes(raw))


def test_sealed_envelope_id_carries_the_sealing_time() -> None:
    first, second = _seal(SUITE_X25519), _seal(SUITE_X25519)
    for envelope in (first, second):
        assert ULID.from_str(envelope.header.id).datetime == NOW
    assert first.header.id < second.header.id  # python-ulid's monotonic generator


@pytest.mark.parametrize("suite", SUITES)
def test_payload_sealed_from_its_canonical_json_is_the_same_signed_message(suite: str) -> None:
    """One payload sealed to many recipients is encoded once: the envelope opens to
    the same payload, signed over the very same bytes as when seal encodes it."""
    notice = Notice(text="Meeting moved to Thursday.")
    envelope_id = str(ULID.from_datetime(NOW))
    encoded = canonical_json(payload_of(notice))
    shared = _seal(suite, envelope_id=envelope_id, payload_json=encoded)
    alone = _seal(suite, envelope_id=envelope_id)
    opened, expected = (
        open_envelope(e, recipient=KEYS[suite], sender=HUB.public) for e in (shared, alone)
    )
    assert opened.message() == notice
    assert opened.header == expected.header
    assert opened.signature == expected.signature  # Ed25519 is deterministic: same bytes
    with pytest.raises(ProtocolError) as info:  # the size limit holds for given bytes too
        _seal(suite, payload_json=b'{"text":"' + b"x" * (8 * 1024 * 1024) + b'"}')
    assert info.value.code == "payload-too-large"
