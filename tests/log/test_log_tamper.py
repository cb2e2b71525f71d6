"""An insider with write access to the database and no key edits the log's tables the way
they would (SQL straight on them, through the CLI's data directory, on SQLite and
PostgreSQL); ``marac-hub log verify`` run as a real command catches each edit, exits
non-zero and names the entry; ``--repair-index`` puts the search index back."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engines import SyncPostgres
from sqlalchemy import delete, func, select, update
from witnesskit import add_witnesses, cosign_newest

from hub.cli import main
from hub.hub_keys import load_hub_keys
from hub.log import LogEntry, append, index_pass, index_quick
from hub.log.entries import EntryBasis
from hub.log.heads import sign_head
from hub.log.tables import (
    log_entries,
    log_heads,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
)
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.storage.schema import migrate

START = datetime.now(UTC) - timedelta(hours=3)  # the log's first entry


@dataclass
class Hub:
    """An initialised data directory and the flags that point the CLI at it."""

    data: Path
    flags: list[str]
    settings: Settings

    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        status = main([*self.flags, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    def found(self, capsys: pytest.CaptureFixture[str], *filters: str) -> list[int]:
        """The entries ``marac-hub log search`` answers for ``filters``."""
        status, out, err = self.run(capsys, "log", "search", *filters)
        assert status == 0, err
        return [int(line.split()[0]) for line in out.splitlines()]

    def verify(self, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
        """Run ``marac-hub log verify``: its status and its last line (out or err)."""
        status, out, err = self.run(capsys, "log", "verify", *flags)
        text = (out if status == 0 else err).strip()
        assert "Traceback" not in err
        return status, text.splitlines()[-1] if text else ""

    def sql(self, *statements: Any) -> None:
        async def run() -> None:
            engine = create_engine(self.settings.db_url)
            try:
                async with engine.begin() as conn:
                    for statement in statements:
                        await conn.execute(statement)
            finally:
                await engine.dispose()

        asyncio.run(run())

    def rows(self, statement: Any) -> list[Any]:
        async def run() -> list[Any]:
            engine = create_engine(self.settings.db_url)
            try:
                async with engine.connect() as conn:
                    return list((await conn.execute(statement)).all())
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def append(self, entries: list[LogEntry], *, sign_at: datetime | None = None) -> None:
        """Append as the hub's code does (hashes and search rows); sign a head if asked."""

        async def run() -> None:
            engine = create_engine(self.settings.db_url)
            try:
                async with engine.begin() as conn:
                    await append(conn, entries)
                if sign_at is not None:
                    identity = _identity(self.settings)
                    await sign_head(engine, identity, self.settings.hub_id, now=sign_at)
                    await cosign_newest(engine, self.settings.hub_id, sign_at)  # witnessed
            finally:
                await engine.dispose()

        asyncio.run(run())


_IDENTITIES: dict[Path, Any] = {}


def _identity(settings: Settings) -> Any:
    """The hub's identity key, read from its key file once per data directory (deriving
    the file's key takes a third of a second: three appends a fixture)."""
    if settings.data_dir not in _IDENTITIES:
        _IDENTITIES[settings.data_dir] = load_hub_keys(settings).identity
    return _IDENTITIES[settings.data_dir]


def entry(n: int, at: datetime | None = None) -> LogEntry:
    return LogEntry(
        kind="disclosure",
        at=at or START + timedelta(minutes=n),
        actor="coordinator:sam",
        envelope_id=f"01J{n:023d}",
        recipient="police-north" if n % 2 else "health-east",
        purpose="agenda",
        case_refs=(f"C-{n % 4}",),
        subject_ids=(f"S-{n % 5}",),
        data_categories=("identity", "risk"),
        basis=EntryBasis(id="s115", version="2"),
        fields=("victim.name",),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Path, keys_dir: Path) -> Iterator[Hub]:
    """A log of 21 entries, logged from three hours ago a minute apart, with heads signed
    as the hub signs them, a second after the entries they cover (5, 13, 21), each
    cosigned then by two witnesses of two kinds (``witnesskit``)."""
    data = tmp_path / "data"
    shutil.copytree(keys_dir, data)
    database = None
    if request.param == "postgresql":
        database = SyncPostgres()
        url = database.url
    else:
        url = f"sqlite+aiosqlite:///{data / 'hub.sqlite3'}"
    try:
        settings = Settings(data_dir=data, database_url=url, key_file_strength="interactive")

        async def create() -> None:
            engine = create_engine(url)
            await migrate(engine)
            async with engine.begin() as conn:
                await add_witnesses(conn)  # police and health cosign each checkpoint
            await engine.dispose()

        asyncio.run(create())
        made = Hub(data, ["--data-dir", str(data), "--database-url", url], settings)
        done = 0
        for batch in (5, 8, 8):
            made.append(
                [entry(i) for i in range(done, done + batch)],
                sign_at=START + timedelta(minutes=done + batch - 1, seconds=1),
            )
            done += batch
        yield made
    finally:
        if database is not None:
            database.close()


@pytest.fixture(params=["one range, in-process", "ranges of 4, a helper process on SQLite"])
def index_ranges(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The quick index comparison as a small log gets it (one range, no helper), or as a
    large one does (many ranges; on a SQLite file a helper process takes them from the
    first up while the verify takes them from the last down). The list says, for each
    verify run, whether a helper process started."""
    started: list[bool] = []
    if request.param.startswith("ranges"):
        monkeypatch.setattr(index_quick, "RANGE", 4)
        monkeypatch.setattr(index_pass, "HELPER_FROM", 1)
    start = index_pass.IndexPass.start

    def recording(self: index_pass.IndexPass) -> None:
        start(self)
        started.append(self._helper is not None)

    monkeypatch.setattr(index_pass.IndexPass, "start", recording)
    return started


def test_an_untouched_log_verifies_with_its_index(
    hub: Hub, capsys: Any, index_ranges: list[bool]
) -> None:
    status, _, err = hub.run(capsys, "log", "verify")
    assert status == 0 and err == ""  # no progress bar on a pipe
    assert hub.verify(capsys) == (
        0,
        "log verified: 21 entries, 18 subtree hashes, 3 signed heads, search index; "
        "newest head covers 21; witnessed at 21 by health-east, police-north",
    )
    status, line = hub.verify(capsys, "--repair-index")
    assert (status, line) == (0, "search index already matches the 21 entries: nothing changed")
    assert hub.rows(select(func.count()).select_from(log_entries)) == [(21,)]  # nothing logged
    many = index_quick.RANGE == 4
    assert any(index_ranges) == (many and hub.settings.db_url.startswith("sqlite"))


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # PostgreSQL's at has one form
def test_the_same_instant_stored_in_another_form_is_not_a_fault(
    hub: Hub, capsys: Any, index_ranges: list[bool]
) -> None:
    """The quick comparison reads ``at`` as SQLAlchemy's text; a row holding the entry's
    instant in another form (with its zone) fails it, and the exact comparison, reading it
    as a datetime, then finds nothing wrong; a different instant is still a fault."""
    moment = START + timedelta(minutes=6)
    raw = sqlite3.connect(hub.settings.data_dir / "hub.sqlite3")
    with raw:
        raw.execute("UPDATE log_index SET at = ? WHERE idx = 6", (moment.isoformat(sep=" "),))
    assert hub.verify(capsys)[0] == 0
    with raw:
        later = moment + timedelta(microseconds=1)
        raw.execute("UPDATE log_index SET at = ? WHERE idx = 6", (later.isoformat(sep=" "),))
    raw.close()
    status, line = hub.verify(capsys)
    assert status == 1 and line.endswith(
        "entry 6: its search index differs from the entry (log_index.at changed)"
    )


def _repaired(hub: Hub, capsys: Any, entries: str) -> None:
    """``--repair-index`` rewrites the rows of ``entries``, logs that it did, and the log
    then verifies (the repair's own entry signed)."""
    status, line = hub.verify(capsys, "--repair-index")
    assert status == 0, line
    assert line.startswith(f"search index repaired: rows of 1 entries rewritten ({entries})")
    assert line.endswith("logged as entry 21")
    logged = LogEntry.model_validate_json(
        hub.rows(select(log_entries.c.entry).where(log_entries.c.idx == 21))[0][0]
    )
    assert (logged.kind, logged.purpose, logged.door) == ("review", "index-repair", "cli")
    assert logged.status is not None and "rows of 1 entries rewritten" in logged.status
    assert hub.found(capsys, "--kind", "review") == [21]
    assert hub.verify(capsys)[0] == 0


def test_deleting_one_entrys_index_rows_is_caught_and_repaired(
    hub: Hub, capsys: Any, index_ranges: list[bool]
) -> None:
    assert hub.found(capsys, "--subject", "S-2") == [2, 7, 12, 17]
    hub.sql(
        delete(log_index_subjects).where(log_index_subjects.c.idx == 7),
        delete(log_index_cases).where(log_index_cases.c.idx == 7),
    )
    assert hub.found(capsys, "--subject", "S-2") == [2, 12, 17]  # the disclosure vanished
    assert hub.found(capsys, "--case", "C-3") == [3, 11, 15, 19]
    status, line = hub.verify(capsys)
    assert status == 1
    assert "entry 7: its search index differs from the entry" in line
    assert "log_index_cases: 1 row missing" in line and "log_index_subjects: 1 row missing" in line
    assert "S-2" not in line and "C-3" not in line  # tables named, never values
    _repaired(hub, capsys, "entries 7 to 7")
    assert hub.found(capsys, "--subject", "S-2") == [2, 7, 12, 17]
    assert hub.found(capsys, "--case", "C-3") == [3, 7, 11, 15, 19]


def test_deleting_an_entrys_whole_index_row_is_caught(
    hub: Hub, capsys: Any, index_ranges: list[bool]
) -> None:
    hub.sql(
        *(
            delete(t).where(t.c.idx == 12)
            for t in (log_index_subjects, log_index_cases, log_index_categories, log_index)
        ),
    )
    status, line = hub.verify(capsys)
    assert status == 1 and "entry 12:" in line and "its log_index row is missing" in line
    _repaired(hub, capsys, "entries 12 to 12")
    assert hub.found(capsys, "--subject", "S-2") == [2, 7, 12, 17]


def test_an_index_row_naming_a_subject_the_entry_never_named_is_caught(
    hub: Hub, capsys: Any, index_ranges: list[bool]
) -> None:
    hub.sql(log_index_subjects.insert().values(idx=4, subject_id="S-planted"))
    assert hub.found(capsys, "--subject", "S-planted") == [4]
    status, line = hub.verify(capsys)
    assert status == 1
    assert line.endswith(
        "entry 4: its search index differs from the entry "
        "(log_index_subjects: 1 row the entry does not name)"
    )
    _repaired(hub, capsys, "entries 4 to 4")
    assert hub.found(capsys, "--subject", "S-planted") == []


def test_an_index_row_for_an_entry_the_log_does_not_have_is_caught(
    hub: Hub, capsys: Any, index_ranges: list[bool]
) -> None:
    hub.sql(log_index.insert().values(idx=40, kind="disclosure", at=START, override=False))
    status, line = hub.verify(capsys)
    assert status == 1 and "entry 40:" in line and "the log has 21 entries" in line
    assert hub.verify(capsys, "--repair-index")[0] == 0
    assert hub.rows(select(log_index.c.idx).where(log_index.c.idx >= 22)) == []


def test_a_changed_index_row_is_caught(hub: Hub, capsys: Any, index_ranges: list[bool]) -> None:
    assert 9 in hub.found(capsys, "--agency", "police-north")
    hub.sql(update(log_index).where(log_index.c.idx == 9).values(agency="health-east"))
    assert 9 not in hub.found(capsys, "--agency", "police-north")
    status, line = hub.verify(capsys)
    assert status == 1 and line.endswith(
        "entry 9: its search index differs from the entry (log_index.agency changed)"
    )
    _repaired(hub, capsys, "entries 9 to 9")
    assert 9 in hub.found(capsys, "--agency", "police-north")


def test_entries_appended_with_every_head_above_deleted_are_caught(hub: Hub, capsys: Any) -> None:
    """The insider appends entries (as the hub's code would: hashes and index rows) and
    deletes every head above entry 13: the newest head left is three hours old."""
    hub.append([entry(i, at=datetime.now(UTC)) for i in range(21, 24)])
    hub.sql(delete(log_heads).where(log_heads.c.size > 13))
    status, line = hub.verify(capsys)
    assert status == 1
    assert "the newest signed head (size 13)" in line
    assert "entries 13 to 23 came after it unsigned" in line
    status, line = hub.verify(capsys, "--repair-index")  # a log that fails is not repaired
    assert status == 1 and line.startswith(
        "marac-hub: log-integrity: refusing to repair the search index"
    )


def test_every_head_deleted_is_caught(hub: Hub, capsys: Any) -> None:
    hub.sql(delete(log_heads))
    status, line = hub.verify(capsys)
    assert status == 1
    assert "no signed head covers the end of the log: entries 0 to 20 are signed by no head" in line


def test_a_fresh_unsigned_tail_passes_within_the_grace_and_fails_after(
    hub: Hub, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A serving hub signs within a second: an entry a moment old may be unsigned yet
    (and a command that succeeds signs it as it exits)."""
    hub.append([entry(21, at=datetime.now(UTC) - timedelta(seconds=1))])
    hub.append([], sign_at=datetime.now(UTC))  # a fresh head over 22 entries
    hub.append([entry(22, at=datetime.now(UTC) - timedelta(seconds=1))])
    with monkeypatch.context() as patch:
        patch.setenv("MARAC_HUB_LOG_HEAD_GRACE_SECONDS", "0")
        status, line = hub.verify(capsys)
    assert status == 1 and "no signed head covers the end of the log: entry 22 is" in line
    assert hub.verify(capsys)[0] == 0


def test_repair_refuses_when_an_entry_was_altered(hub: Hub, capsys: Any) -> None:
    data = hub.rows(select(log_entries.c.entry).where(log_entries.c.idx == 6))[0][0]
    altered = bytes(data).replace(b"health-east", b"health-west")
    hub.sql(
        update(log_entries).where(log_entries.c.idx == 6).values(entry=altered),
        delete(log_index_subjects).where(log_index_subjects.c.idx == 7),
    )
    status, line = hub.verify(capsys, "--repair-index")
    assert status == 1
    assert line.startswith("marac-hub: log-integrity: refusing to repair the search index")
    assert "entry 6 " in line
    assert hub.rows(select(log_index_subjects).where(log_index_subjects.c.idx == 7)) == []
    assert hub.rows(select(func.count()).select_from(log_entries)) == [(21,)]


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # the helper is SQLite's
@pytest.mark.parametrize(
    "helper",
    [
        "missing",
        "reports ranges 0 and 2 and dies",
        "hangs up at once",
        "reports range 0, then prints something else",
        "reports a range the log does not have",
    ],
)
def test_a_helper_that_fails_leaves_no_range_unchecked(
    hub: Hub,
    capsys: Any,
    helper: str,
    index_ranges: list[bool],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever becomes of the helper process, every range it did not report is compared
    by the verify itself: an index row deleted in range 1 (entries 4 to 7) is caught."""
    monkeypatch.setattr(index_quick, "RANGE", 4)
    monkeypatch.setattr(index_pass, "HELPER_FROM", 1)
    script = tmp_path / "helper"
    lines = {
        "reports ranges 0 and 2 and dies": "0 1\n2 1\n",
        "hangs up at once": "",
        "reports range 0, then prints something else": "0 1\nwarning: 1 2 3\n1 1\n",
        "reports a range the log does not have": "0 1\n99 1\n1 1\n",
    }
    if helper != "missing":
        script.write_text(f"#!/bin/sh\nprintf '{lines[helper]}'\nexit 3\n")
        script.chmod(0o755)
    monkeypatch.setattr(index_pass.sys, "executable", str(script))
    hub.sql(delete(log_index_subjects).where(log_index_subjects.c.idx == 7))
    status, line = hub.verify(capsys)
    assert status == 1 and line.endswith(
        "entry 7: its search index differs from the entry (log_index_subjects: 1 row missing)"
    )
    assert index_ranges == [helper != "missing"]
