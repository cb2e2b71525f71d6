"""``marac-hub backup`` while a hub serves, and ``restore`` into a new data directory."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import stat
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from hub.app.backup import backup, restore
from hub.cli import main
from hub.log.store import index_of_envelope
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.testing import running_hub
from tests.storage.storage_helpers import enrolled, serving, staff, sync_postgres_database

AGENCIES = 4
NOTICES = 500  # to every agency: the backup is taken halfway through
HALFWAY = NOTICES // 2
PASSPHRASE = "marac-hub-testing"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_backup_mid_broadcast_restores_to_a_hub_that_delivers_it_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", PASSPHRASE)
    dest = tmp_path / "backup"
    async with running_hub(tmp_path / "live") as hub, aiohttp.ClientSession() as http:
        agencies = [await enrolled(hub, http, f"agency-{i}") for i in range(AGENCIES)]
        sent: list[int] = []

        async def broadcast() -> None:
            for n in range(NOTICES):
                await staff(hub, http, "POST", "/api/v1/notices", {"to": "all", "text": f"#{n}"})
                sent.append(n)

        sender = asyncio.create_task(broadcast())
        while len(sent) < HALFWAY:
            await asyncio.sleep(0.01)
        done = await asyncio.to_thread(backup, hub.settings, dest)
        during = len(sent)
        await sender
    assert done.database == "sqlite"
    assert HALFWAY <= during < NOTICES, "the backup was not taken mid-broadcast"
    assert mode(dest) == 0o700 and all(mode(p) == 0o600 for p in dest.iterdir())
    assert not any("passphrase" in p.name for p in dest.iterdir())

    with sqlite3.connect(dest / "hub.sqlite3") as copy:
        queued = copy.execute("SELECT envelope_id, agency_id FROM outbox").fetchall()
    # Whole notices only: every agency has the same number of envelopes.
    per_agency = Counter(agency for _, agency in queued)
    assert set(per_agency) == {a.id for a in agencies}
    assert len(set(per_agency.values())) == 1
    assert HALFWAY <= next(iter(per_agency.values())) < NOTICES

    data = tmp_path / "restored"
    restored = restore(Settings(data_dir=data), dest)
    assert str(data / "hub.sqlite3") in restored.files
    assert mode(data) == 0o700 and all(mode(p) == 0o600 for p in data.iterdir())
    settings = Settings(data_dir=data, key_passphrase=PASSPHRASE)

    assert await asyncio.to_thread(main, ["--data-dir", str(data), "log", "verify"]) == 0
    engine = create_engine(settings.db_url)
    try:
        async with engine.connect() as conn:
            for envelope_id, _ in queued:
                assert await index_of_envelope(conn, envelope_id) is not None, envelope_id
    finally:
        await engine.dispose()

    async with serving(settings) as url, aiohttp.ClientSession() as http:
        for agency in agencies:
            agency.http, agency.url = http, url
            got = await agency.drain()
            assert len(got) == len(set(got)), "an envelope came twice"
            assert set(got) == {e for e, a in queued if a == agency.id}
            assert await agency.drain() == []
    assert await asyncio.to_thread(main, ["--data-dir", str(data), "log", "verify"]) == 0


def test_restore_refuses_a_data_directory_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    live, dest = tmp_path / "live", tmp_path / "backup"
    assert main(["--data-dir", str(live), "init"]) == 0
    assert main(["--data-dir", str(live), "backup", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "left out the key passphrase" in out
    assert main(["--data-dir", str(live), "backup", str(dest)]) == 1
    assert "backup directory" in capsys.readouterr().err
    assert main(["--data-dir", str(live), "restore", str(dest)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "is not empty" in err[0]
    assert main(["--data-dir", str(tmp_path / "new"), "restore", str(tmp_path)]) == 1
    assert "not a marac-hub backup" in capsys.readouterr().err
    (dest / "hub-kek.key").write_text("tampered")
    assert main(["--data-dir", str(tmp_path / "new"), "restore", str(dest)]) == 1
    assert "SHA-256" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_postgresql_backup_and_restore_with_pg_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump is not installed")
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    live, dest, new = tmp_path / "live", tmp_path / "backup", tmp_path / "new"
    with sync_postgres_database() as source, sync_postgres_database() as target:
        assert main(["--data-dir", str(live), "--database-url", source, "init"]) == 0
        passphrase = (live / "hub-passphrase").read_text()
        assert main(["--data-dir", str(live), "--database-url", source, "backup", str(dest)]) == 0
        assert "(pg_dump)" in capsys.readouterr().out
        new.mkdir()
        (new / "hub-passphrase").write_text(passphrase)
        assert main(["--data-dir", str(new), "--database-url", target, "restore", str(dest)]) == 0
        assert main(["--data-dir", str(new), "--database-url", target, "db", "check"]) == 0
        assert main(["--data-dir", str(new), "--database-url", target, "log", "verify"]) == 0
        capsys.readouterr()
        assert main(["--data-dir", str(new), "--database-url", target, "user", "list"]) == 0
        assert "admin" in capsys.readouterr().out
