"""Signed key announcements: a rotated encryption key vouched for by an identity key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.crypto.announce import SignedKeyAnnouncement, announce_key, verify_announcement
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.protocol import SUITE_HYBRID, SUITE_X25519, CryptoError, ProtocolError, b64encode

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AGENCY = IdentityKeyPair.generate()


@pytest.mark.parametrize("suite", [SUITE_X25519, SUITE_HYBRID])
def test_announcement_verifies_and_round_trips(suite: str) -> None:
    key = EncryptionKeyPair.generate(suite).public
    signed = announce_key(AGENCY, "police-north", key, now=NOW)
    again = SignedKeyAnnouncement.from_json(signed.to_json())
    assert verify_announcement(again, identity=AGENCY.public, now=NOW) == key
    assert again.announcement.expires_at == NOW + timedelta(days=14)


def test_announcement_by_another_identity_is_refused() -> None:
    key = EncryptionKeyPair.generate().public
    signed = announce_key(IdentityKeyPair.generate(), "police-north", key, now=NOW)
    with pytest.raises(CryptoError) as info:
        verify_announcement(signed, identity=AGENCY.public)
    assert info.value.code == "bad-signature"


def test_swapped_key_is_refused() -> None:
    """The hub cannot substitute its own key into an agency's announcement."""
    signed = announce_key(AGENCY, "police-north", EncryptionKeyPair.generate().public, now=NOW)
    swapped = signed.announcement.model_copy(
        update={"encryption_key": b64encode(EncryptionKeyPair.generate().public.raw)}
    )
    with pytest.raises(CryptoError):
        verify_announcement(replace(signed, announcement=swapped), identity=AGENCY.public)


@pytest.mark.parametrize("field", ["party", "suite", "created_at", "expires_at"])
def test_any_altered_field_is_refused(field: str) -> None:
    signed = announce_key(AGENCY, "police-north", EncryptionKeyPair.generate().public, now=NOW)
    ann = signed.announcement
    changed = {
        "party": "police-south",
        "suite": SUITE_HYBRID,
        "created_at": ann.created_at - timedelta(seconds=1),
        "expires_at": ann.expires_at + timedelta(days=365),
    }[field]
    with pytest.raises(CryptoError):
        verify_announcement(
            replace(signed, announcement=ann.model_copy(update={field: changed})),
            identity=AGENCY.public,
        )


def test_validity_window_is_checked_when_now_is_given() -> None:
    signed = announce_key(
        AGENCY, "idva", EncryptionKeyPair.generate().public, now=NOW, valid_for=timedelta(days=7)
    )
    verify_announcement(signed, identity=AGENCY.public, now=NOW + timedelta(days=6))
    for moment in (NOW + timedelta(days=7), NOW - timedelta(hours=1)):
        with pytest.raises(CryptoError) as info:
            verify_announcement(signed, identity=AGENCY.public, now=moment)
        assert info.value.code == "key-expired"


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        {"announcement": {}},
        {"announcement": {}, "signature": "!!"},
        {"announcement": {}, "signature": "", "x": 1},
    ],
)
def test_malformed_announcement_is_a_protocol_error(obj: object) -> None:
    with pytest.raises(ProtocolError):
        SignedKeyAnnouncement.from_json(obj)
