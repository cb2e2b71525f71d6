"""Helpers of the web UI tests: a real hub served from its own thread, its seed data,
HTTP clients that keep a session, and the accessibility check run in the browser."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from hub.cases.areas import add_agency, add_area, add_user
from hub.cases.referral import parse_referral
from hub.cases.store import refer
from hub.service.appkeys import ENGINE, KEYS
from hub.signin.passwords import set_password
from hub.testing import RunningHub, running_hub

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agency_client"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from agency_helpers import Agency, enrolled

__all__ = ["enrolled"]
from casekit import referral

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
USERS = {"casey": "coordinator", "sam": "coordinator", "dana": "dpo", "ada": "admin"}


@dataclass
class Seeded:
    """What the shared hub holds before any test: areas, staff, agencies, a case per area."""

    north_ref: str = ""
    south_ref: str = ""
    agencies: dict[str, Agency] = field(default_factory=dict)


class HubThread:
    """A real hub on 127.0.0.1, served by an event loop in its own thread, so that the
    (synchronous) browser tests can drive it while it serves."""

    def __init__(self, root: Path, **settings: Any) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self._ready: Future[RunningHub] = Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, args=(settings,), daemon=True)
        self._thread.start()
        self.hub = self._ready.result(timeout=60)
        self.url = self.hub.url
        self.http: aiohttp.ClientSession = self.run(self._session())
        self.seeded = Seeded()

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def _serve(self, settings: dict[str, Any]) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main(settings))
        self.loop.close()

    async def _main(self, settings: dict[str, Any]) -> None:
        self._stop = asyncio.Event()
        try:
            async with running_hub(
                self.root / "hub", password_strength="interactive", **settings
            ) as hub:
                self._ready.set_result(hub)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run ``work`` on the hub's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def stop(self) -> None:
        """Close the agencies' clients, stop serving, join the thread."""

        async def close() -> None:
            for agency in self.seeded.agencies.values():
                await agency.client.close()
                agency.store.close()
            await self.http.close()
            assert self._stop is not None
            self._stop.set()

        self.run(close())
        self._thread.join(timeout=30)

    async def seed(self) -> Seeded:
        """Areas north and south; coordinators casey (north) and sam (south), the DPO
        dana and the admin ada, each with a web password; two real enrolled agency
        clients serving north; one referred case in each area."""
        engine, now = self.hub.app[ENGINE], datetime.now(UTC)
        for name, role in USERS.items():
            if name != "ada":
                await self.hub.add_user(name, role)
        await self.hub.add_user("ada", "admin")
        for name in USERS:
            await set_password(engine, name, PASSWORD, now=now, strength="interactive")
        for agency_id, kind in (("police-north", "police"), ("idva-north", "idva")):
            self.seeded.agencies[agency_id] = await enrolled(
                self.http, self.hub, self.root / "agencies", agency_id, kind
            )
        async with engine.begin() as conn:
            await add_area(conn, "north", "Northtown MARAC", now=now)
            await add_area(conn, "south", "Southtown MARAC", now=now)
            await add_user(conn, "north", "casey")
            await add_user(conn, "south", "sam")
            for agency_id in self.seeded.agencies:
                await add_agency(conn, "north", agency_id)
            for area, victim in (("north", "Nora Seed"), ("south", "Sophie Seed")):
                doc = referral(
                    referred_on=(now.date() - timedelta(days=50)).isoformat(),
                    victim={**referral()["victim"], "name": victim},
                )
                done = await refer(
                    conn,
                    self.hub.app[KEYS],
                    parse_referral(doc, today=now.date()),
                    area=area,
                    actor="coordinator:seed",
                    now=now,
                )
                setattr(self.seeded, f"{area}_ref", done.case_ref)
        return self.seeded


class WebClient:
    """A browser-like HTTP client: keeps cookies, reads CSRF tokens from pages."""

    def __init__(self, hub: HubThread) -> None:
        self.hub = hub
        self.session: aiohttp.ClientSession = hub.run(self._session())
        self.csrf = ""

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def request(
        self, method: str, path: str, data: dict[str, str] | None = None, follow: bool = False
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        """One request; ``(status, body, response)``. The page's CSRF token is remembered."""

        async def go() -> tuple[int, str, aiohttp.ClientResponse]:
            async with self.session.request(
                method, self.hub.url + path, data=data, allow_redirects=follow
            ) as resp:
                body = await resp.text()
                return resp.status, body, resp

        status, body, resp = self.hub.run(go())
        if found := re.search(r'name="csrf" value="([^"]+)"', body):
            self.csrf = found.group(1)
        return status, body, resp

    def get(self, path: str) -> tuple[int, str, aiohttp.ClientResponse]:
        """GET without following redirects."""
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, aiohttp.ClientResponse]:
        """POST a form with this session's CSRF token (unless ``data`` sets one)."""
        return self.request("POST", path, {"csrf": self.csrf, **data})

    def login(self, name: str, password: str = PASSWORD) -> int:
        """Sign in; the status of the answer to the sign-in form."""
        _, body, _ = self.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', body)
        assert token, body
        status, _, _ = self.request(
            "POST",
            "/login",
            {"login_token": token.group(1), "username": name, "password": password},
        )
        if status == 303:
            self.get("/")  # a page with the session's CSRF token
            self.get("/dashboard" if USERS.get(name) != "dpo" else "/log")
        return status

    def close(self) -> None:
        """Close the client session."""
        self.hub.run(self.session.close())


def meeting_date(days: int = 14) -> date:
    """A meeting date ``days`` from today."""
    return datetime.now(UTC).date() + timedelta(days=days)
