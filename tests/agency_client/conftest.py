"""Fixtures every agency-client test against a real hub shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from hub.testing import RunningHub, running_hub


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
