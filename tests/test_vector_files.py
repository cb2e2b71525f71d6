"""The files in ``tests/vectors`` are exactly those ``SHA256SUMS`` and ``PROVENANCE.md`` name."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import vectors
from vectors import SUMS_FILE, VECTORS_DIR, VectorFileError, expected_sums, read_checked

LISTS = {"SHA256SUMS", "PROVENANCE.md"}


def _data_files() -> set[str]:
    return {
        path.relative_to(VECTORS_DIR).as_posix()
        for path in VECTORS_DIR.rglob("*")
        if path.is_file() and path.name not in LISTS
    }


@pytest.mark.parametrize("relative", sorted(expected_sums()))
def test_every_vector_file_matches_its_recorded_sha256(relative: str) -> None:
    assert hashlib.sha256(read_checked(relative)).hexdigest() == expected_sums()[relative]


def test_no_vector_file_is_unlisted_or_missing() -> None:
    assert _data_files() == set(expected_sums())


def test_provenance_names_every_file_with_its_sha256() -> None:
    provenance = (VECTORS_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for relative, digest in expected_sums().items():
        assert f"`{relative}`" in provenance, relative
        assert digest in provenance, relative


def test_a_tampered_vector_file_fails_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the folder with one byte of one vector changed: loading it must fail and say
    # which file, not run the known-answer tests against altered data.
    copy = tmp_path / "vectors"
    shutil.copytree(VECTORS_DIR, copy)
    relative = "nacl/xchacha20-poly1305-ietf_ref.txt"
    data = bytearray((copy / relative).read_bytes())
    data[10] ^= 0x01
    (copy / relative).write_bytes(bytes(data))
    monkeypatch.setattr(vectors, "VECTORS_DIR", copy)
    monkeypatch.setattr(vectors, "SUMS_FILE", copy / SUMS_FILE.name)
    expected_sums.cache_clear()
    try:
        with pytest.raises(VectorFileError, match=relative):
            vectors.load_vectors(relative)
        assert vectors.load_vectors("nacl/chacha20-poly1305-ietf_ref.txt")  # others still load
        (copy / relative).unlink()
        with pytest.raises(VectorFileError, match=f"{relative} is listed .* but missing"):
            vectors.load_vectors(relative)
        with pytest.raises(VectorFileError, match="not listed"):
            vectors.load_vectors("nacl/sealed_box_ref.txt")
    finally:
        expected_sums.cache_clear()
