"""Loader for the third-party test vectors kept in the repository (``tests/vectors/``).

Each file's source repository, commit, path and licence are in ``tests/vectors/PROVENANCE.md``;
its SHA-256 is in ``tests/vectors/SHA256SUMS`` (``sha256sum -c`` format). A file is checked
against its sum every time it is loaded, so a changed vector fails the tests that read it,
naming the file, instead of testing the code against altered data.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "SUMS_FILE",
    "VECTORS_DIR",
    "VectorFileError",
    "expected_sums",
    "load_vectors",
    "read_checked",
]

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"
SUMS_FILE = VECTORS_DIR / "SHA256SUMS"


class VectorFileError(AssertionError):
    """A vector file is missing, unlisted or not the file its recorded SHA-256 names."""


@cache
def expected_sums() -> dict[str, str]:
    """``SHA256SUMS`` as ``{relative path: hex digest}``."""
    sums: dict[str, str] = {}
    for number, line in enumerate(SUMS_FILE.read_text(encoding="ascii").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise VectorFileError(f"{SUMS_FILE.name} line {number} is not '<sha256>  <path>'")
        sums[name] = digest
    return sums


def read_checked(relative: str) -> bytes:
    """The bytes of ``tests/vectors/<relative>`` once their SHA-256 matches ``SHA256SUMS``."""
    expected = expected_sums().get(relative)
    if expected is None:
        raise VectorFileError(f"{relative} is not listed in tests/vectors/SHA256SUMS")
    path = VECTORS_DIR / relative
    if not path.is_file():
        raise VectorFileError(f"{relative} is listed in SHA256SUMS but missing")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise VectorFileError(f"{relative} has SHA-256 {actual}, SHA256SUMS records {expected}")
    return data


def load_vectors(relative: str) -> Any:
    """Load ``tests/vectors/<relative>``: parsed JSON for ``.json``, otherwise the text."""
    text = read_checked(relative).decode("utf-8")
    return json.loads(text) if relative.endswith(".json") else text
