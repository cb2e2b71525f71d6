"""Helpers of the DPO-side tests: one real hub (served from its own thread, on SQLite or
PostgreSQL) reached through all three doors: the API (bearer tokens), the web UI (signed-in
sessions) and the CLI (``marac-hub ... --by NAME`` in process, on the same database)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from casekit import pair, referral, seed
from engines import SyncPostgres
from webkit import PASSWORD, HubThread, WebClient

from hub.cases.areas import add_user
from hub.cases.referral import parse_referral
from hub.cases.store import refer
from hub.cases.tables import case_subjects
from hub.cli import main
from hub.log import LogEntry, append, parse_entry
from hub.log.entries import EntryBasis
from hub.log.store import size
from hub.log.tables import log_entries
from hub.service.appkeys import ENGINE, KEYS
from hub.signin.passwords import set_password

__all__ = ["PASSWORD", "DoorsHub", "WebClient", "doors_hub", "referral"]

VICTIM = ("Nora Seed", "1990-04-02")
STAFF = {"casey": "coordinator", "sam": "coordinator", "dana": "dpo", "ada": "admin"}


@dataclass
class DoorsHub:
    """The running hub, its staff's tokens, and the cases it holds."""

    thread: HubThread
    flags: list[str]
    tokens: dict[str, str] = field(default_factory=dict)
    north: list[str] = field(default_factory=list)  # Nora Seed's cases (a first and a repeat)
    south: str = ""  # someone else's case, in the other area

    def run(self, work: Any) -> Any:
        """Run a coroutine on the hub's loop."""
        return self.thread.run(work)

    def api(self, method: str, path: str, who: str | None) -> tuple[int, Any]:
        """One API call as ``who`` (``None``: no token; ``"bad"``: a forged one)."""
        headers = {}
        if who is not None:
            token = self.tokens.get(who, self.tokens["ada"][:-4] + "AAAA")
            headers["Authorization"] = f"Bearer {token}"

        async def go() -> tuple[int, Any]:
            async with self.thread.http.request(
                method, self.thread.url + path, headers=headers
            ) as resp:
                body = await resp.read()
                if resp.content_type == "application/json" or resp.status >= 400:
                    return resp.status, json.loads(body)
                return resp.status, body.decode()

        result: tuple[int, Any] = self.run(go())
        return result

    def cli(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        """``marac-hub ARGV`` against this hub's data directory and database."""
        capsys.readouterr()
        status = main([*self.flags, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    def web(self, who: str) -> WebClient:
        """A web session signed in as ``who``."""
        client = WebClient(self.thread)
        assert client.login(who) == 303
        return client

    def entries(self, first: int = 0) -> list[tuple[int, LogEntry]]:
        """The log's entries from index ``first``."""

        async def read() -> list[tuple[int, LogEntry]]:
            async with self.thread.hub.app[ENGINE].connect() as conn:
                rows = await conn.execute(
                    select(log_entries.c.idx, log_entries.c.entry)
                    .where(log_entries.c.idx >= first)
                    .order_by(log_entries.c.idx)
                )
                return [(int(r.idx), parse_entry(bytes(r.entry))) for r in rows]

        found: list[tuple[int, LogEntry]] = self.run(read())
        return found

    def raw(self, index: int) -> bytes:
        """The logged bytes of entry ``index``."""

        async def read() -> bytes:
            async with self.thread.hub.app[ENGINE].connect() as conn:
                value = await conn.scalar(
                    select(log_entries.c.entry).where(log_entries.c.idx == index)
                )
                return bytes(value)

        data: bytes = self.run(read())
        return data

    def size(self) -> int:
        """How many entries the log holds."""

        async def read() -> int:
            async with self.thread.hub.app[ENGINE].connect() as conn:
                return await size(conn)

        count: int = self.run(read())
        return count


async def _seed(doors: DoorsHub) -> None:
    hub = doors.thread.hub
    engine, keys, now = hub.app[ENGINE], hub.app[KEYS], datetime.now(UTC)
    await seed(engine)
    for name, role in STAFF.items():
        doors.tokens[name] = await hub.add_user(name, role)
        await set_password(engine, name, PASSWORD, now=now, strength="interactive")
    day = (now.date() - timedelta(days=40)).isoformat()
    async with engine.begin() as conn:
        await add_user(conn, "north", "casey")
        await add_user(conn, "south", "sam")
        for area, victim, on in (
            ("north", VICTIM[0], day),
            ("north", VICTIM[0], now.date().isoformat()),  # a repeat: a second case
            ("south", "Sophie Other", day),
        ):
            doc = pair(victim, "Perry Seed", on)
            doc["victim"]["date_of_birth"] = VICTIM[1]
            done = await refer(
                conn,
                keys,
                parse_referral(doc, today=now.date()),
                area=area,
                actor="coordinator:seed",
                now=now,
            )
            if area == "north":
                doors.north.append(done.case_ref)
            else:
                doors.south = done.case_ref
        # Disclosures about the victim, as the disclosure pipeline logs them.
        rows = await conn.execute(
            select(case_subjects.c.case_ref, case_subjects.c.subject_id).where(
                case_subjects.c.role == "victim"
            )
        )
        victims = {r.case_ref: r.subject_id for r in rows}
        await append(
            conn,
            [
                LogEntry(
                    kind="disclosure",
                    at=now,
                    actor="coordinator:casey",
                    envelope_id=f"01JDPOKIT{n:018d}",
                    recipient="police-north",
                    purpose="case_extract",
                    case_refs=(ref,),
                    subject_ids=(victims[ref],),
                    fields=("victim.name",),
                    basis=EntryBasis(id="s115", version="1"),
                )
                for n, ref in enumerate([*doors.north, doors.south])
            ],
        )


@contextlib.contextmanager
def doors_hub(root: Path, engine: str) -> Iterator[DoorsHub]:
    """A seeded hub on ``engine`` (sqlite or postgresql) and the CLI pointed at it."""
    database = SyncPostgres() if engine == "postgresql" else None
    settings = {"database_url": database.url} if database is not None else {}
    thread = HubThread(root, **settings)
    monkeypatch = pytest.MonkeyPatch()
    try:
        data = root / "hub"
        flags = ["--data-dir", str(data)]
        if database is not None:
            flags += ["--database-url", database.url]
        monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
        monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
        monkeypatch.delenv("MARAC_HUB_DATABASE_URL", raising=False)
        doors = DoorsHub(thread, flags)
        thread.run(_seed(doors), timeout=120)
        yield doors
    finally:
        monkeypatch.undo()
        thread.stop()
        if database is not None:
            database.close()
