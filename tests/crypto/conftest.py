"""Fixtures shared by the crypto tests."""

from __future__ import annotations

import pytest

from hub.crypto import keys


@pytest.fixture(params=["libsodium", "openssl"])
def ed25519_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Send every Ed25519 sign and verify to one library, whatever the message's length.

    ``hub.crypto.keys`` uses libsodium for short messages and OpenSSL for long ones; a
    test that takes this fixture runs once on each.
    """
    limit = 2**62 if request.param == "libsodium" else -1
    monkeypatch.setattr(keys, "_SODIUM_SIGN_MAX", limit)
    monkeypatch.setattr(keys, "_SODIUM_VERIFY_MAX", limit)
    return str(request.param)
