"""Reading an evidence bundle from a file and saying what it proves (the verification
itself is ``hub.crypto.evidence.verify_bundle``, which the hub also uses)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.crypto.evidence import MAX_BUNDLE_BYTES, CheckedEntry, Evidence
from hub.protocol.errors import HubError

__all__ = ["entry_line", "evidence_lines", "print_evidence", "read_bundle"]


def read_bundle(path: Path) -> bytes:
    """The file's bytes; ``bad-file`` if it cannot be read or exceeds the size limit
    (never read past it)."""
    try:
        with path.open("rb") as source:
            data = source.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise HubError(f"cannot read {path}: {exc.strerror or exc}", code="bad-file") from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise HubError(
            f"not a valid evidence bundle: the file is larger than {MAX_BUNDLE_BYTES // 2**20} MiB",
            code="bad-file",
        )
    return data


def _names(value: Any) -> str | None:
    if isinstance(value, list) and value:
        return ", ".join(str(v) for v in value)
    return None


def _basis(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return f"{value.get('id')} v{value.get('version')}"
    return None


def entry_line(entry: CheckedEntry) -> str:
    """One line for a verified entry: what it says (ids, field names, hashes only)."""
    f = entry.fields
    parts = [f"entry {entry.index}", entry.kind, str(f.get("at", "-"))]
    override = f.get("override")
    key = f.get("key")
    for label, value in (
        ("to", f.get("recipient")),
        ("agency", f.get("agency")),
        ("purpose", f.get("purpose")),
        ("cases", _names(f.get("case_refs"))),
        ("subjects", _names(f.get("subject_ids"))),
        ("fields", _names(f.get("fields"))),
        ("categories", _names(f.get("data_categories"))),
        ("basis", _basis(f.get("basis"))),
        ("override", override.get("id") if isinstance(override, Mapping) else None),
        ("refused", f.get("refusal_code")),
        ("status", f.get("status")),
        (
            "key",
            f"{key.get('role')} {key.get('fingerprint')}" if isinstance(key, Mapping) else None,
        ),
        ("envelope", f.get("envelope_id")),
        ("envelope sha256", f.get("envelope_sha256")),
        ("by", f.get("actor")),
        ("via", f.get("door")),
    ):
        if value:
            parts.append(f"{label} {value}")
    parts.append(f"-- included (proof of {entry.proof_length} hashes)")
    return "  ".join(parts)


def _all(count: int) -> str:
    return "the entry is" if count == 1 else f"all {count} entries are"


def evidence_lines(path: Path, evidence: Evidence) -> list[str]:
    """What the verified bundle proves, and on which keys it rests."""
    lines = [f"evidence bundle {path} (SHA-256 {evidence.sha256})"]
    if evidence.hub_pinned:
        lines.append(
            f"the hub (id {evidence.hub_id}): key {evidence.hub_fingerprint} (matches --hub-key)"
        )
    else:
        lines.append(
            f"the hub (id {evidence.hub_id}): key {evidence.hub_fingerprint} -- NOT PINNED: "
            "check this fingerprint against the one the hub's operator gave you by another "
            "channel, and run again with --hub-key FINGERPRINT"
        )
    lines.append(
        f"checkpoint: {evidence.origin}, size {evidence.checkpoint_size}, root "
        f"{evidence.root.hex()}, signed by the hub's key"
    )
    if evidence.witnesses:
        lines.append(f"witnesses: {len(evidence.witnesses)} cosigned the checkpoint")
        for w in evidence.witnesses:
            pinned = " (matches --witness-key)" if w.pinned else ""
            lines.append(
                f"  {w.agency}: cosigned {w.cosigned_at} with key {w.fingerprint}, "
                f"registered in the log at entry {w.registered_at}{pinned}"
            )
    else:
        lines.append("witnesses: none cosigned the checkpoint: it rests on the hub's key alone")
    lines.append(
        f"made {evidence.created}; asked for {', '.join(evidence.requested)}; "
        f"the export is logged as entry {evidence.logged_as}"
    )
    lines += [entry_line(e) for e in evidence.entries]
    lines.append(
        f"OK: {_all(len(evidence.entries))} in the hub's log as of the checkpoint "
        f"of size {evidence.checkpoint_size}"
    )
    return lines


def print_evidence(path: Path, evidence: Evidence) -> None:
    """Print ``evidence_lines``."""
    for line in evidence_lines(path, evidence):
        print(line)
