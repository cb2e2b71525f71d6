"""The example third-party package (examples/marac-folder-drop), installed by ``make test``:
found through its entry point, it passes the conformance kit and delivers through a hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from adapterkit import enrolled, notice, set_delivery, wait_for

from hub.adapters.registry import load_registry
from hub.adapters.testing import Harness, TransportConformance
from hub.protocol.envelope import parse_envelope
from hub.testing import running_hub

FOLDER_DROP = "folder-drop"


def installed() -> Any:
    found = load_registry()
    if FOLDER_DROP not in found.transports:
        pytest.fail(
            "examples/marac-folder-drop is not installed: run make test (or pip install -e)"
        )
    return found.transport(FOLDER_DROP)


def test_found_by_entry_point() -> None:
    transport = installed()
    assert type(transport).__module__ == "marac_folder_drop"
    assert (transport.name, transport.kind, transport.push) == (FOLDER_DROP, "transport", True)


class FolderHarness(Harness):
    """The folder is the receiver; a failing disk is the fault."""

    supports_retry_after = False  # a folder cannot ask for a wait

    def __init__(self, folder: Path) -> None:
        transport = installed()
        super().__init__(transport, {"folder": str(folder)})
        self.folder = folder
        self.failures = 0
        self.order: list[str] = []
        write = transport.write

        def faulty_write(where: Path, envelope_id: str, data: bytes) -> None:
            if self.failures:
                self.failures -= 1
                raise OSError(28, "No space left on device")
            write(where, envelope_id, data)
            self.order.append(envelope_id)

        transport.write = faulty_write

    def fail_next(self, times: int, *, retry_after: float | None = None) -> None:
        self.failures += times

    def received(self) -> list[bytes]:
        return [(self.folder / f"{i}.json").read_bytes() for i in self.order]

    def wire(self) -> bytes:
        return b"".join(p.name.encode() + p.read_bytes() for p in sorted(self.folder.iterdir()))


class TestFolderDropConformance(TransportConformance):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[Harness]:
        folder = tmp_path / "drop"
        folder.mkdir()
        yield FolderHarness(folder)


def test_leaves_no_partial_files(tmp_path: Path) -> None:
    transport = installed()
    transport.write(tmp_path, "01J0000000000000000000000A", b"{}")
    assert [p.name for p in tmp_path.iterdir()] == ["01J0000000000000000000000A.json"]


async def test_a_hub_delivers_through_it(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    async with (
        running_hub(tmp_path / "hub", push_interval_seconds=0.05) as hub,
        aiohttp.ClientSession() as http,
    ):
        agency = await enrolled(http, hub, tmp_path, "police-north")
        await set_delivery(http, hub, agency.id, FOLDER_DROP, {"folder": str(drop)})
        [sent] = [e["id"] for e in await notice(http, hub, "hello", to=agency.id)]

        async def dropped() -> bool:
            return (drop / f"{sent}.json").exists()

        await wait_for(dropped)
    assert parse_envelope((drop / f"{sent}.json").read_bytes()).header.id == sent
