"""Shared loader for the third-party test vectors kept beside the clone (``../shared/vectors``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

__all__ = ["VECTORS_DIR", "load_vectors"]

# tests/vectors.py -> tests/ -> the repository -> the folder that holds it and ``shared/``.
VECTORS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"


def load_vectors(relative: str) -> Any:
    """Load ``../shared/vectors/<relative>``: parsed JSON for ``.json``, otherwise the text.

    Calls ``pytest.skip`` with the missing path when the folder or the file is absent (from
    a test, that skips it; at collection, catch ``pytest.skip.Exception``).

    Provenance (full detail in ``shared/vectors/README.md``; the data is read, never copied):

    - ``wycheproof/*.json`` and ``wycheproof/schemas/*.json``: C2SP/wycheproof
      ``testvectors_v1/`` and ``schemas/`` at dac1dd4729fd1f8dd9e1e9f3dce51d783da6c166,
      unchanged (Apache-2.0).
    - ``hpke/rfc9180_x25519_hkdf_sha256_subset.json``: the 16 entries with ``kem_id`` 32 and
      ``kdf_id`` 1 of cfrg/draft-irtf-cfrg-hpke ``test-vectors.json`` at 5f503c5 (the RFC 9180
      vectors), as shipped gzipped by cloudflare/circl at
      33d33c75d9a09aac9a38aba282d0799880dd7224; entries unchanged, plain JSON (Apache-2.0).
    - ``nacl/*.txt``, ``nacl/nacl_box_secretbox_vectors.json``: pyca/pynacl ``tests/data`` and
      ``tests/test_box.py``/``test_secret.py`` tables at
      25d715e19c9b8472a00e18e68ca0e7369826e666 (Apache-2.0); ``ed25519_sign_input.txt`` is the
      Ed25519 reference software's public-domain ``sign.input``; the ChaCha20-Poly1305 file
      holds RFC 7539 / RFC 7634 examples, the XChaCha20-Poly1305 one libsodium's test.
    - ``merkle/rfc6962_merkle_vectors.json``: extracted from transparency-dev/merkle test data
      at 417fb0c314750d94e53942e9f92e79b6d35915db and 9ca563d3ac2bab915317cf153ed4f952f6e74c07
      (Apache-2.0); see the README for its ``policy_dependent`` probes.
    """
    path = VECTORS_DIR / relative
    if not path.is_file():
        where = "folder" if not VECTORS_DIR.is_dir() else "file"
        pytest.skip(f"shared test vectors absent ({where} missing): {path}")
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else text
