"""Sinks: folder (atomic files), stdout, command (exit status decides); retried until taken."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agency_helpers import VICTIM, extract, opened

from agency_client.hub_client import HubClient
from agency_client.keystore import KeyDirectory
from agency_client.rotation import KeyRotation
from agency_client.runner import CycleReport, Runner
from agency_client.sinks import CommandSink, FolderSink, SinkError, StdoutSink, parse_sink
from agency_client.store import STORE_FILE, Store, StoredMessage, derive_store_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair

HUB = IdentityKeyPair.generate()
AGENCY = IdentityKeyPair.generate()
KEY = EncryptionKeyPair.generate()
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "client" / STORE_FILE, derive_store_key(AGENCY)) as opened_store:
        yield opened_store


def stored(store: Store) -> StoredMessage:
    message = opened(HUB, KEY, message=extract())
    store.add(message, "00" * 32, NOW)
    return store.message(message.header.id)


async def test_folder_sink_writes_one_file_per_message(tmp_path: Path, store: Store) -> None:
    message = stored(store)
    folder = tmp_path / "out" / "inbox"
    assert await FolderSink(folder).hand(message)
    path = folder / f"{message.info.envelope_id}.json"
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary file left
    doc = json.loads(path.read_text())
    assert doc["envelope_id"] == message.info.envelope_id
    assert doc["type"] == "case_extract" and doc["case_ref"] == "M-2026-0001"
    assert doc["payload"]["victim"]["name"] == VICTIM
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_folder_sink_never_leaves_a_partial_file(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = stored(store)
    path = tmp_path / f"{message.info.envelope_id}.json"
    path.write_text("the earlier, complete copy")

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        await FolderSink(tmp_path).hand(message)
    monkeypatch.undo()
    assert path.read_text() == "the earlier, complete copy"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "client"])


async def test_stdout_sink_prints_one_json_line(store: Store) -> None:
    message = stored(store)
    out = io.StringIO()
    assert await StdoutSink(out).hand(message)
    [line] = out.getvalue().splitlines()
    assert json.loads(line) == message.to_json()


def _python(code: str) -> str:
    return f'"{sys.executable}" -c "{code}"'


async def test_command_sink_gets_the_message_on_stdin(tmp_path: Path, store: Store) -> None:
    message = stored(store)
    out = tmp_path / "got.json"
    script = (
        "import os, sys, pathlib; "
        f"pathlib.Path(r'{out}').write_bytes(sys.stdin.buffer.read()); "
        "assert os.environ['MARAC_MESSAGE_TYPE'] == 'case_extract'; "
        "print(os.environ['MARAC_ENVELOPE_ID'], file=sys.stderr)"
    )
    assert await CommandSink(_python(script)).hand(message)
    assert json.loads(out.read_bytes()) == message.to_json()


@pytest.mark.parametrize(
    "command",
    [
        _python("import sys; sys.exit(3)"),
        _python("import sys; sys.stdin.close(); sys.exit(1)"),
        "/nonexistent/sink-command",
    ],
)
async def test_command_sink_failure_is_not_taken(store: Store, command: str) -> None:
    assert not await CommandSink(command).hand(stored(store))


async def test_command_sink_timeout_is_not_taken(store: Store) -> None:
    sink = CommandSink(_python("import time; time.sleep(30)"), timeout=0.5)
    assert not await sink.hand(stored(store))


def _runner(store: Store, tmp_path: Path, sink: object) -> Runner:
    """A runner used only to hand over: it never reaches its (unstarted) hub client."""
    client = HubClient("http://127.0.0.1:9", "police-north", AGENCY)
    rotation = KeyRotation(client, store, KeyDirectory(tmp_path / "keys"), "unused")
    return Runner(client, store, rotation, HUB.public, sink)  # type: ignore[arg-type]


async def test_a_refused_message_is_offered_again_until_taken_then_never(
    tmp_path: Path, store: Store
) -> None:
    first, second = opened(HUB, KEY), opened(HUB, KEY, message=extract())
    store.add(first, "00" * 32, NOW)
    store.add(second, "11" * 32, NOW)
    flag, log = tmp_path / "accept", tmp_path / "log"
    script = (
        "import os, sys, pathlib; "
        f"ok = pathlib.Path(r'{flag}').exists(); "
        f"log = open(r'{log}', 'a'); print(os.environ['MARAC_ENVELOPE_ID'], ok, file=log); "
        "sys.exit(0 if ok else 1)"
    )
    runner = _runner(store, tmp_path, CommandSink(_python(script)))
    report = CycleReport()
    await runner.hand_over(report)
    assert (report.handed, report.pending) == (0, 2)  # stops at the first refusal, keeps order
    assert [m.envelope_id for m in store.unhanded()] == [first.header.id, second.header.id]
    flag.touch()
    report = CycleReport()
    await runner.hand_over(report)
    assert (report.handed, report.pending) == (2, 0)
    await runner.hand_over(report)  # nothing is handed twice
    assert log.read_text().split() == [
        first.header.id,
        "False",
        first.header.id,
        "True",
        second.header.id,
        "True",
    ]
    await runner.client.close()


async def test_a_sink_that_raises_keeps_the_message(tmp_path: Path, store: Store) -> None:
    class Broken:
        async def hand(self, message: StoredMessage) -> bool:
            raise RuntimeError("adapter bug")

    stored(store)
    report = CycleReport()
    await _runner(store, tmp_path, Broken()).hand_over(report)
    assert report.pending == 1 and len(store.unhanded()) == 1


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("stdout", StdoutSink), ("folder:/tmp/x", FolderSink), ("command:cat -", CommandSink)],
)
def test_parse_sink(spec: str, kind: type) -> None:
    assert isinstance(parse_sink(spec), kind)


@pytest.mark.parametrize("spec", ["", "folder:", "command:", "stdout:x", "mail:x", "command:  "])
def test_parse_sink_refuses(spec: str) -> None:
    with pytest.raises(SinkError):
        parse_sink(spec)
