"""``marac-hub db`` and ``alembic.ini``: the operator's schema commands, on each engine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.cli import main
from hub.storage.engine import create_engine
from hub.storage.schema import schema_history
from tests.engines import ENGINES
from tests.storage.storage_helpers import sync_postgres_database

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC = Path(sys.executable).parent / "alembic"


@pytest.fixture(scope="module")
def revisions() -> tuple[str, str]:
    """The head, and the revision before it ("base" if there is one revision): whatever
    the migrations are, these tests depend on no one revision's name."""
    history = schema_history()
    return history[0].id, history[1].id if len(history) > 1 else "base"


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (a SQLite file of no bytes, or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        (tmp_path / "hub.sqlite3").touch()
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite3'}"
        return
    with sync_postgres_database() as found:
        yield found


def db(url: str, *words: str) -> int:
    return main(["--database-url", url, "db", *words])


def lines(capsys: pytest.CaptureFixture[str]) -> tuple[list[str], list[str]]:
    out, err = capsys.readouterr()
    return out.splitlines(), err.splitlines()


def execute(url: str, sql: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_history_lists_every_revision_newest_first(
    revisions: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    head, before = revisions
    assert main(["db", "history"]) == 0
    out, _ = lines(capsys)
    assert out[0].startswith(f"{before} -> {head} (head)  ")
    assert out[-1].startswith("base -> ")
    assert len(out) == len(schema_history())


def test_upgrade_downgrade_current_and_check(
    url: str, revisions: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    HEAD, BEFORE = revisions
    assert db(url, "current") == 0
    assert lines(capsys)[0] == [f"no revision (empty database) (behind: head is {HEAD})"]
    assert db(url, "check") == 1
    out, err = lines(capsys)
    assert out == [] and len(err) == 1 and "run marac-hub db upgrade" in err[0]

    if BEFORE != "base":
        assert db(url, "upgrade", BEFORE) == 0
        assert lines(capsys)[0] == [
            f"upgraded from no revision (empty database) (behind: head is {HEAD}) "
            f"to {BEFORE} (behind: head is {HEAD})"
        ]
        assert db(url, "check") == 1
        capsys.readouterr()
    assert db(url, "upgrade") == 0
    assert lines(capsys)[0][0].endswith(f"to {HEAD} (head)")
    assert db(url, "upgrade") == 0
    assert lines(capsys)[0] == [f"database already at {HEAD} (head)"]
    assert db(url, "check") == 0
    assert lines(capsys)[0] == [f"database at {HEAD} (head); tables match the code's"]

    # A downgrade drops data: it needs --yes.
    assert db(url, "downgrade", BEFORE) == 2
    out, err = lines(capsys)
    assert out == [] and len(err) == 1 and "--yes" in err[0]
    assert db(url, "current") == 0
    assert lines(capsys)[0] == [f"{HEAD} (head)"]
    assert db(url, "downgrade", BEFORE, "--yes") == 0
    now = "no revision (empty database)" if BEFORE == "base" else BEFORE
    assert lines(capsys)[0] == [f"downgraded from {HEAD} (head) to {now} (behind: head is {HEAD})"]
    assert db(url, "check") == 1
    capsys.readouterr()
    assert db(url, "upgrade", "head") == 0
    assert db(url, "check") == 0
    capsys.readouterr()


def test_an_unknown_revision_is_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert db(url, "upgrade", "9999") == 1
    out, err = lines(capsys)
    assert out == [] and len(err) == 1 and err[0].startswith("marac-hub: not-found: ")
    assert db(url, "downgrade", "nonsense", "--yes") == 1
    out, err = lines(capsys)
    assert out == [] and len(err) == 1 and err[0].startswith("marac-hub: not-found: ")


def test_check_sees_tables_that_differ_from_the_code(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert db(url, "upgrade") == 0
    execute(url, "CREATE TABLE stray_table (id INTEGER PRIMARY KEY)")
    capsys.readouterr()
    assert db(url, "check") == 1
    out, err = lines(capsys)
    assert out == [] and len(err) == 1
    assert "differ from the code's" in err[0] and "remove_table stray_table" in err[0]


def test_a_missing_sqlite_database_is_refused_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for words in (["current"], ["check"], ["upgrade"], ["downgrade", "base", "--yes"]):
        assert main(["--data-dir", str(tmp_path), "db", *words]) == 1
        out, err = lines(capsys)
        assert out == [] and err == [
            f"marac-hub: not-found: no database at {tmp_path / 'hub.sqlite3'}: run marac-hub init"
        ]
    assert list(tmp_path.iterdir()) == []


def alembic(
    tmp_path: Path, *words: str, url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The stock ``alembic`` command on ``alembic.ini``, run from elsewhere, on a data
    directory (or, with ``url``, a database URL) named by the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARAC_HUB_")}
    env["MARAC_HUB_DATA_DIR"] = str(tmp_path)
    if url is not None:
        env["MARAC_HUB_DATABASE_URL"] = url
    return subprocess.run(
        [str(ALEMBIC), "-c", str(ROOT / "alembic.ini"), *words],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_alembic_ini_finds_the_migrations(tmp_path: Path, revisions: tuple[str, str]) -> None:
    head, before = revisions
    result = alembic(tmp_path, "history")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{'<base>' if before == 'base' else before} -> {head} (head)")
    heads = alembic(tmp_path, "heads")
    assert heads.returncode == 0 and heads.stdout.split() == [head, "(head)"]


def test_alembic_ini_upgrades_the_hubs_database(tmp_path: Path, revisions: tuple[str, str]) -> None:
    before = alembic(tmp_path, "current")
    assert before.returncode == 0, before.stderr
    assert alembic(tmp_path, "upgrade", "head").returncode == 0
    after = alembic(tmp_path, "current")
    assert after.returncode == 0 and after.stdout.split()[:2] == [revisions[0], "(head)"]
    assert main(["--data-dir", str(tmp_path), "db", "check"]) == 0


def test_alembic_ini_takes_the_database_url_from_the_environment(
    url: str, tmp_path: Path, revisions: tuple[str, str]
) -> None:
    elsewhere = tmp_path / "elsewhere"  # the data directory: unused when a URL is set
    elsewhere.mkdir()
    assert alembic(elsewhere, "upgrade", "head", url=url).returncode == 0
    after = alembic(elsewhere, "current", url=url)
    assert after.returncode == 0 and after.stdout.split()[:2] == [revisions[0], "(head)"]
    assert main(["--database-url", url, "db", "check"]) == 0
    assert list(elsewhere.iterdir()) == []


def test_check_knows_every_table_without_the_rest_of_the_hub(tmp_path: Path) -> None:
    """``hub.app.schema`` alone (not the CLI, which imports everything) compares against
    every table the hub defines: the same set as a full server's."""
    code = (
        "import hub.app.schema as s, hub.storage.tables as t;"
        "a = set(s.every_table().tables); import hub.server, hub.cli;"
        "print(sorted(set(t.metadata.tables) - a))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
