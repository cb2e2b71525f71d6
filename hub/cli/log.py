"""``marac-hub log head|verify|proof|search|export|subject``: the DPO's tools over the log.

Each command calls one ``log.*`` use-case (``hub.app.log``) as ``--by USER`` (a DPO or an
admin; ``log head`` any member of staff), or as the host's operator by default
(``log verify --repair-index`` calls ``log.repair-index``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.cli import evidence, witnesses
from hub.cli._context import add_by, with_runtime
from hub.protocol.commands import lazy_choice, lazy_module
from hub.protocol.errors import HubError, ProtocolError

# Imported when a command runs, not when the parser is built (--help stays quick).
if TYPE_CHECKING:
    import tqdm

    from hub.app import log as log_app
    from hub.app.actor import Actor
    from hub.app.runtime import Runtime
    from hub.protocol import canonical
else:
    log_app = lazy_module("hub.app.log")
    canonical = lazy_module("hub.protocol.canonical")
    tqdm = lazy_module("tqdm")


def register(sub: Any) -> None:
    """Add ``log``."""
    parser = sub.add_parser("log", help="the disclosure log: heads, proofs, search, verify")
    actions = parser.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    head = actions.add_parser("head", help="sign (if the log grew) and print the newest head")
    add_by(head, "who asks", alias=False)
    head.set_defaults(handler=run_head, use_case="log.head")
    verify = actions.add_parser(
        "verify", help="verify every entry, hash, signed head and the search index"
    )
    verify.add_argument(
        "--repair-index",
        action="store_true",
        help="once the log verifies, rebuild the search index from the entries (logged)",
    )
    add_by(verify, "who asks", alias=False)
    verify.set_defaults(
        handler=run_verify, use_case="log.verify", also_use_cases=("log.repair-index",)
    )
    proof = actions.add_parser("proof", help="an inclusion or consistency proof")
    which = proof.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=int, help="entry index")
    which.add_argument("--envelope", help="envelope id")
    which.add_argument("--consistency", nargs=2, type=int, metavar=("OLD", "NEW"))
    add_by(proof, "who asks", alias=False)
    proof.set_defaults(handler=run_proof, use_case="log.entry")
    found = actions.add_parser("search", help="entries matching the filters")
    _filters(found)
    found.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    add_by(found, "who asks", alias=False)
    found.set_defaults(handler=run_search, use_case="log.search")
    export = actions.add_parser("export", help="export entries as CSV or JSON Lines")
    _filters(export)
    export.add_argument("--format", choices=("csv", "jsonl"), required=True)
    export.add_argument("--out", help="file to write (default: standard output)")
    add_by(export, "who asks", alias=False)
    export.set_defaults(handler=run_export, use_case="log.export")
    subject = actions.add_parser(
        "subject", help="every disclosure concerning one person, and every view of their records"
    )
    subject.add_argument("--name", required=True)
    subject.add_argument("--dob", required=True, help="date of birth, YYYY-MM-DD")
    add_by(subject, "who asks", alias=False)
    subject.set_defaults(handler=run_subject, use_case="log.subject")
    evidence.register(actions)
    witnesses.register(actions)


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
    parser.add_argument(
        "--kind",
        **lazy_choice(
            "hub.app.log", "KINDS", "KIND", "entries of one kind (access: who viewed case data)"
        ),
    )
    parser.add_argument("--actor", help="entries by one person, as logged: ROLE:NAME")


def _query(args: argparse.Namespace) -> log_app.LogQuery:
    return log_app.log_query(
        {name: value for name in log_app.FILTERS if (value := getattr(args, name)) is not None}
    )


def run_head(args: argparse.Namespace) -> int:
    """Print the newest signed head (signing one first if the log grew)."""
    head = with_runtime(args, lambda rt, who: log_app.log_head(rt, who, current=True))
    print(json.dumps(head.to_json(), indent=2))
    return 0


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal (standard error), with the total once known; none on a
    pipe. A pass that starts again from 0 (a repair's second pass) restarts the bar."""
    with tqdm.tqdm(
        total=0,
        unit="entry",
        file=sys.stderr,
        desc="verifying",
        leave=False,
        disable=not sys.stderr.isatty(),
    ) as bar:

        def progress(done: int, total: int) -> None:
            if done < bar.n:
                bar.reset(total)
                bar.set_description("rebuilding the index")
            bar.total = total
            bar.update(done - bar.n)

        yield progress


def _verified_line(result: log_app.Verified) -> str:
    newest = f"; newest head covers {result.newest.size}" if result.newest else ""
    if result.witnessed is not None:
        witnessed = f"; witnessed at {result.witnessed} by {', '.join(result.witnesses)}"
    else:
        witnessed = (
            "; newest checkpoint not yet witnessed (within the grace)" if result.newest else ""
        )
    return (
        f"log verified: {result.size} entries, {result.nodes} subtree hashes, "
        f"{result.heads} signed heads, search index{newest}{witnessed}"
    )


def run_verify(args: argparse.Namespace) -> int:
    """Verify the whole log with a progress bar; exit 1 naming the first fault. With
    ``--repair-index``, rebuild the search index once the rest verifies."""
    if args.repair_index:
        return _run_repair(args)

    async def work(rt: Runtime, who: Actor) -> log_app.Verified:
        with _progress() as progress:
            return await log_app.verify_log_now(rt, who, progress)

    print(_verified_line(with_runtime(args, work)))
    return 0


def _run_repair(args: argparse.Namespace) -> int:
    async def work(rt: Runtime, who: Actor) -> log_app.IndexRepaired:
        with _progress() as progress:
            return await log_app.repair_log_index(rt, who, progress)

    done = with_runtime(args, work)
    repair = done.repair
    if done.entry is None:
        print(f"search index already matches the {done.verified.size} entries: nothing changed")
        return 0
    which = f" (entries {repair.entries[0]} to {repair.entries[-1]})" if repair.entries else ""
    print(
        f"search index repaired: rows of {len(repair.entries)} entries rewritten{which}, "
        f"{repair.added} rows added, {repair.removed} removed, in "
        f"{', '.join(sorted(repair.tables))}; logged as entry {done.entry}"
    )
    return 0


def _proofs(hashes: list[bytes]) -> list[str]:
    return [canonical.b64encode(h) for h in hashes]


def run_proof(args: argparse.Namespace) -> int:
    """Print an inclusion proof (by index or envelope) or a consistency proof, as JSON."""

    async def work(rt: Runtime, who: Actor) -> dict[str, Any]:
        if args.consistency is not None:
            old, new = args.consistency
            proof = await log_app.log_consistency(rt, who, old, new)
            return {"from": old, "to": new, "proof": _proofs(proof)}
        if args.envelope is not None:
            found = await log_app.log_entry(rt, who, envelope_id=args.envelope)
        else:
            found = await log_app.log_entry(rt, who, index=args.index)
        return {
            "index": found.index,
            "entry": canonical.b64encode(found.data),
            "head": found.head.to_json(),
            "proof": _proofs(found.proof),
        }

    print(json.dumps(with_runtime(args, work), indent=2))
    return 0


def _line(index: int, e: log_app.LogEntry) -> str:
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
        ("via", e.door),
    ):
        if value:
            parts.append(f"{label} {value}")
    if e.kind == "access" and e.fields:
        parts.append(f"read {','.join(e.fields)}")
    return "  ".join(parts)


def run_search(args: argparse.Namespace) -> int:
    """Print matching entries, one per line."""
    if not 1 <= args.limit <= 100_000:
        raise ProtocolError("--limit must be from 1 to 100000")
    query = _query(args)
    found = with_runtime(
        args, lambda rt, who: log_app.search_log(rt, who, query, limit=args.limit, signed=False)
    )
    for index, entry in found.entries:
        print(_line(index, entry))
    print(f"{len(found.found)} entries", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the export, headed by the signed head it was taken at."""
    query = _query(args)

    async def write(taken: log_app.LogExport, sink: Any) -> int:
        lines = 0
        # Lines written so far, on a terminal (standard error) while writing to --out.
        with tqdm.tqdm(
            unit="line",
            file=sys.stderr,
            desc="exporting",
            leave=False,
            disable=not args.out or not sys.stderr.isatty(),
        ) as bar:
            async for line in taken.lines():
                sink.write(line)
                lines += 1
                if lines % 1000 == 0:
                    bar.update(1000)
        return lines

    async def work(rt: Runtime, who: Actor) -> int:
        taken = await log_app.log_export(rt, who, query, args.format)
        if not args.out:
            return await write(taken, sys.stdout)
        final = Path(args.out)
        partial = final.with_name(final.name + ".partial")  # never a half-written export
        try:
            with partial.open("w", encoding="utf-8", newline="") as sink:
                lines = await write(taken, sink)
            partial.replace(final)
        except OSError as exc:
            raise HubError(f"cannot write {final}: {exc.strerror}", code="hub-error") from None
        finally:
            partial.unlink(missing_ok=True)
        return lines

    lines = with_runtime(args, work)
    if args.out:
        print(f"wrote {lines - (2 if args.format == 'csv' else 1)} entries to {args.out}")
    return 0


def run_subject(args: argparse.Namespace) -> int:
    """Every disclosure concerning one person (what, to whom, when, why, on which basis)
    and every view of their records; making the report is logged as an access."""
    report = with_runtime(
        args, lambda rt, who: log_app.subject_access(rt, who, args.name, args.dob)
    )
    if not report.records:
        print("no case holds a person with that name and date of birth")
        return 0
    shown, views = report.disclosures, report.views
    print(
        f"{len(shown)} disclosures concern this person ({report.records} subject records "
        f"in cases {', '.join(report.case_refs)}); {len(views)} views of their records"
    )
    for index, e in shown:
        basis = f"{e.basis.id} v{e.basis.version}" if e.basis else "-"
        print(
            f"{e.at.strftime('%Y-%m-%dT%H:%M:%SZ')}  to {e.recipient}  purpose {e.purpose}  "
            f"basis {basis}  cases {','.join(e.case_refs or ())}  "
            f"fields {', '.join(e.fields or ()) or '-'}"
            + ("  OVERRIDE" if e.override else "")
            + f"  (entry {index}, envelope {e.envelope_id or '-'})"
        )
    for index, e in views:
        print(
            f"{e.at.strftime('%Y-%m-%dT%H:%M:%SZ')}  viewed by {e.actor}  via {e.door or '-'}  "
            f"purpose {e.purpose}  cases {','.join(e.case_refs or ())}  "
            f"read {', '.join(e.fields or ()) or '-'}  (entry {index})"
        )
    return 0
