"""``marac-hub log head|verify|proof|search|export|subject``: the DPO's tools over the log."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from hub.cases import find_subject_ids
from hub.cli._context import require_initialised, settings_from, with_engine
from hub.hub_keys import load_hub_keys
from hub.log import parse_entry, store
from hub.log.heads import sign_head
from hub.log.search import LogQuery, export_lines, parse_moment, search
from hub.log.verify import verify_log
from hub.protocol.canonical import b64encode
from hub.protocol.errors import HubError, ProtocolError
from hub.settings import Settings

_PAGE = 1000


def register(sub: Any) -> None:
    """Add ``log``."""
    parser = sub.add_parser("log", help="the disclosure log: heads, proofs, search, verify")
    actions = parser.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    actions.add_parser(
        "head", help="sign (if the log grew) and print the newest head"
    ).set_defaults(handler=run_head)
    actions.add_parser("verify", help="verify every entry, hash and signed head").set_defaults(
        handler=run_verify
    )
    proof = actions.add_parser("proof", help="an inclusion or consistency proof")
    which = proof.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=int, help="entry index")
    which.add_argument("--envelope", help="envelope id")
    which.add_argument("--consistency", nargs=2, type=int, metavar=("OLD", "NEW"))
    proof.set_defaults(handler=run_proof)
    found = actions.add_parser("search", help="entries matching the filters")
    _filters(found)
    found.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    found.set_defaults(handler=run_search)
    export = actions.add_parser("export", help="export entries as CSV or JSON Lines")
    _filters(export)
    export.add_argument("--format", choices=("csv", "jsonl"), required=True)
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(handler=run_export)
    subject = actions.add_parser("subject", help="every disclosure concerning one person")
    subject.add_argument("--name", required=True)
    subject.add_argument("--dob", required=True, help="date of birth, YYYY-MM-DD")
    subject.set_defaults(handler=run_subject)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", help="case reference")
    parser.add_argument("--agency", help="recipient agency id")
    parser.add_argument("--purpose")
    parser.add_argument("--basis", help="lawful basis id")
    parser.add_argument("--category", help="data category")
    parser.add_argument("--since", help="YYYY-MM-DD or RFC 3339 time")
    parser.add_argument("--until", help="YYYY-MM-DD (inclusive) or RFC 3339 time")
    parser.add_argument("--overrides", action="store_true", help="overrides only")
    parser.add_argument("--refusals", action="store_true", help="refusals only")
    parser.add_argument("--subject", help="pseudonymous subject id")


def _query(args: argparse.Namespace) -> LogQuery:
    since = parse_moment(args.since, "--since")
    until = parse_moment(args.until, "--until", end=True)
    if since is not None and until is not None and since > until:
        raise ProtocolError("--since is after --until")
    return LogQuery(
        case_ref=args.case,
        agency=args.agency,
        purpose=args.purpose,
        basis_id=args.basis,
        category=args.category,
        since=since,
        until=until,
        overrides=args.overrides,
        refusals=args.refusals,
        subject_id=args.subject,
    )


def _run(args: argparse.Namespace, work: Callable[[AsyncEngine, Settings], Any]) -> Any:
    settings = settings_from(args)
    require_initialised(settings)
    return with_engine(settings, lambda engine: work(engine, settings))


async def _signed(engine: AsyncEngine, settings: Settings) -> Any:
    return await sign_head(engine, load_hub_keys(settings).identity, settings.hub_id)


def run_head(args: argparse.Namespace) -> int:
    """Print the newest signed head (signing one first if the log grew)."""
    head = _run(args, _signed)
    print(json.dumps(head.to_json(), indent=2))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Verify the whole log with a progress bar; exit 1 naming the first fault."""

    async def work(engine: AsyncEngine, settings: Settings) -> Any:
        key = load_hub_keys(settings).identity.public
        with tqdm(total=0, unit="entry", file=sys.stderr, desc="verifying", leave=False) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            async with engine.connect() as conn:
                return await verify_log(conn, key, settings.hub_id, progress)

    result = _run(args, work)
    newest = f"; newest head covers {result.newest.size}" if result.newest else ""
    print(
        f"log verified: {result.size} entries, {result.nodes} subtree hashes, "
        f"{result.heads} signed heads{newest}"
    )
    return 0


def run_proof(args: argparse.Namespace) -> int:
    """Print an inclusion proof (by index or envelope) or a consistency proof, as JSON."""

    async def work(engine: AsyncEngine, settings: Settings) -> dict[str, Any]:
        if args.consistency is not None:
            old, new = args.consistency
            async with engine.connect() as conn:
                proof = await store.consistency_proof(conn, old, new)
            return {"from": old, "to": new, "proof": [b64encode(h) for h in proof]}
        async with engine.connect() as conn:
            index = args.index
            if args.envelope is not None:
                index = await store.index_of_envelope(conn, args.envelope)
                if index is None:
                    raise HubError("that envelope is not in the log", code="unknown-envelope")
            data = None if index < 0 else await store.entry(conn, index)
        if data is None:
            raise HubError(f"no entry {index}", code="not-found")
        head = await _signed(engine, settings)
        async with engine.connect() as conn:
            proof = await store.inclusion_proof(conn, index, head.size)
        return {
            "index": index,
            "entry": b64encode(data),
            "head": head.to_json(),
            "proof": [b64encode(h) for h in proof],
        }

    print(json.dumps(_run(args, work), indent=2))
    return 0


def _line(index: int, data: bytes) -> str:
    e = parse_entry(data)
    parts = [f"{index:>8}", e.at.strftime("%Y-%m-%dT%H:%M:%SZ"), f"{e.kind:<14}"]
    for label, value in (
        ("to", e.recipient),
        ("agency", e.agency),
        ("purpose", e.purpose),
        ("basis", f"{e.basis.id} v{e.basis.version}" if e.basis else None),
        ("cases", ",".join(e.case_refs) if e.case_refs else None),
        ("override", e.override.id if e.override else None),
        ("refused", e.refusal_code),
        ("status", e.status),
        ("key", f"{e.key.role} {e.key.fingerprint[:16]}" if e.key else None),
        ("by", e.actor),
    ):
        if value:
            parts.append(f"{label} {value}")
    return "  ".join(parts)


def run_search(args: argparse.Namespace) -> int:
    """Print matching entries, one per line."""
    if not 1 <= args.limit <= 100_000:
        raise ProtocolError("--limit must be from 1 to 100000")
    query = _query(args)

    async def work(engine: AsyncEngine, _settings: Settings) -> list[tuple[int, bytes]]:
        async with engine.connect() as conn:
            below = await store.size(conn)
            return await search(conn, query, below=below, limit=args.limit)

    found = _run(args, work)
    for index, data in found:
        print(_line(index, data))
    print(f"{len(found)} entries", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the export, headed by the signed head it was taken at."""
    query = _query(args)

    async def write(engine: AsyncEngine, head: Any, sink: TextIO) -> int:
        lines = 0
        async with engine.connect() as conn:
            async for line in export_lines(conn, query, head, args.format):
                sink.write(line)
                lines += 1
        return lines

    async def work(engine: AsyncEngine, settings: Settings) -> int:
        head = await _signed(engine, settings)
        if not args.out:
            return await write(engine, head, sys.stdout)
        final = Path(args.out)
        partial = final.with_name(final.name + ".partial")  # never a half-written export
        try:
            with partial.open("w", encoding="utf-8", newline="") as sink:
                lines = await write(engine, head, sink)
            partial.replace(final)
        except OSError as exc:
            raise HubError(f"cannot write {final}: {exc.strerror}", code="hub-error") from None
        finally:
            partial.unlink(missing_ok=True)
        return lines

    lines = _run(args, work)
    if args.out:
        print(f"wrote {lines - (2 if args.format == 'csv' else 1)} entries to {args.out}")
    return 0


def run_subject(args: argparse.Namespace) -> int:
    """Every disclosure concerning one person: what, to whom, when, why, on which basis."""
    try:
        dob = date.fromisoformat(args.dob)
    except ValueError:
        raise ProtocolError("--dob must be a date (YYYY-MM-DD)") from None
    if not args.name.strip() or len(args.name) > 200:
        raise ProtocolError("--name must be 1-200 characters")

    async def work(engine: AsyncEngine, settings: Settings) -> tuple[int, list[Any]]:
        keys = load_hub_keys(settings)
        async with engine.connect() as conn:
            ids = await find_subject_ids(conn, keys, args.name, dob)
            if not ids:
                return 0, []
            query = LogQuery(subject_ids=tuple(ids))
            below = await store.size(conn)
            out, after = [], -1
            while page := await search(conn, query, below=below, after=after, limit=_PAGE):
                out += [(i, parse_entry(d)) for i, d in page]
                after = page[-1][0]
            return len(ids), out

    count, entries = _run(args, work)
    if not count:
        print("no case holds a person with that name and date of birth")
        return 0
    shown = [(i, e) for i, e in entries if e.kind == "disclosure"]
    print(f"{len(shown)} disclosures concern this person ({count} subject records)")
    for index, e in shown:
        basis = f"{e.basis.id} v{e.basis.version}" if e.basis else "-"
        print(
            f"{e.at.strftime('%Y-%m-%dT%H:%M:%SZ')}  to {e.recipient}  purpose {e.purpose}  "
            f"basis {basis}  cases {','.join(e.case_refs or ())}  "
            f"fields {', '.join(e.fields or ()) or '-'}"
            + ("  OVERRIDE" if e.override else "")
            + f"  (entry {index}, envelope {e.envelope_id or '-'})"
        )
    return 0
