"""Fixtures every agency-client test against a real hub shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from hub.testing import RunningHub, running_hub


@pytest.fixture(autouse=True)
def quick_agency_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agency keys made by these tests (and the clients they start) cost Argon2id's
    interactive setting, not the default moderate one: tens of key files are opened."""
    monkeypatch.setenv("AGENCY_CLIENT_KEY_STRENGTH", "interactive")


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A real hub on a free loopback port (SQLite)."""
    async with running_hub(tmp_path / "hub") as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session for staff calls."""
    async with aiohttp.ClientSession() as session:
        yield session
