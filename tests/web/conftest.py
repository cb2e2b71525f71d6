"""The web UI's fixtures: one hub (served from its own thread) and one headless Chromium
per session; a fresh browser context per test."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webkit import AXE, CHROMIUM, HubThread, WebClient


@pytest.fixture(scope="session")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    """A real hub on loopback with seeded areas, staff, agencies and cases."""
    hub = HubThread(tmp_path_factory.mktemp("web"))
    try:
        hub.run(hub.seed(), timeout=120)
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def client(web_hub: HubThread) -> Iterator[Any]:
    """A factory of signed-in (or anonymous) HTTP clients."""
    made: list[WebClient] = []

    def make(user: str | None = None) -> WebClient:
        web = WebClient(web_hub)
        made.append(web)
        if user is not None:
            assert web.login(user) == 303
        return web

    yield make
    for web in made:
        web.close()


def _axe_ready() -> str | None:
    """None if axe-core is installed (installing it with npm if it can); else why not."""
    if AXE.exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "axe-core is not installed and npm is missing: run `make browser`"
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=AXE.parents[2],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return None if AXE.exists() else f"npm ci failed: {done.stderr.strip()[-300:]}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the browser tests' module. (Module scope: the sync
    Playwright API keeps an event loop in this thread while it lives, and the async tests of
    other modules need the thread's loop free.)"""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: run `make browser`")
    reason = _axe_ready()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when a browser runs

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def browse(browser: Any, web_hub: HubThread) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the shared hub; the CSP is bypassed only so
    that the test can inject axe-core."""
    context = browser.new_context(
        base_url=web_hub.url,
        bypass_csp=True,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save their screenshots: a temporary directory, so that
    ``make test`` leaves the tree as it found it; ``make screenshots`` sets
    ``MARAC_SCREENSHOTS`` to the README's ``docs/screenshots``."""
    chosen = os.environ.get("MARAC_SCREENSHOTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
