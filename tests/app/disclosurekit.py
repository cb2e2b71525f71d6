"""A hub with two areas for the disclosure rules' tests, and its three doors: the API
(bearer tokens), the web UI (a signed-in session with its CSRF token) and the CLI
(``marac-hub ... --by USER`` against the same data directory and database).

North: coordinators nora and nick; agencies police-north, housing-north and cafcass-north
(a Cafcass extract is held for review by the default policy). South: coordinator sam;
agencies refuge-south and cafcass-south. dee is a DPO. One referred case in each area.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.request_signing import sign_request
from hub.crypto.sealing import open_envelope
from hub.delivery.tables import outbox
from hub.http.appkeys import ENGINE
from hub.log import parse_entry
from hub.log.store import size
from hub.log.tables import log_entries
from hub.protocol import Envelope, parse_envelope
from hub.signin.passwords import set_password
from hub.testing import RunningHub, postgres_database, running_hub

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from casekit import referral

PASSWORD = "correct horse battery staple"
PASSPHRASE = "marac-hub-testing"
JUSTIFICATION = "Housing need the victim's date of birth to match the tenancy record today."
AGENCIES = {
    "police-north": ("police", "north"),
    "housing-north": ("housing", "north"),
    "cafcass-north": ("cafcass", "north"),
    "refuge-south": ("refuge", "south"),
    "cafcass-south": ("cafcass", "south"),
}
STAFF = {"nora": "coordinator", "nick": "coordinator", "sam": "coordinator", "dee": "dpo"}
AREAS = {"nora": "north", "nick": "north", "sam": "south"}


@dataclass
class Agency:
    """An enrolled, approved agency that can poll its mailbox."""

    id: str
    identity: IdentityKeyPair = field(default_factory=IdentityKeyPair.generate)
    key: EncryptionKeyPair = field(default_factory=EncryptionKeyPair.generate)


@dataclass
class World:
    """The hub, its staff's tokens, its agencies and one case per area."""

    hub: RunningHub
    http: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)
    agencies: dict[str, Agency] = field(default_factory=dict)
    north_ref: str = ""
    south_ref: str = ""
    sessions: list[WebSession] = field(default_factory=list)

    async def call(
        self, method: str, path: str, who: str = "admin", body: Any = None
    ) -> tuple[int, Any]:
        """A staff request as ``who`` (``admin``: the hub's admin)."""
        token = self.hub.admin_token if who == "admin" else self.tokens[who]
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.request(
            method, self.hub.url + path, json=body, headers=headers
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def poll(self, agency_id: str) -> list[Envelope]:
        """The agency's mailbox now (signed request)."""
        agency = self.agencies[agency_id]
        signed = sign_request(
            agency.identity, agency.id, "GET", "/api/v1/mailbox", "wait=0", b"", now=now()
        )
        async with self.http.get(f"{self.hub.url}/api/v1/mailbox?wait=0", headers=signed) as resp:
            doc = await resp.json()
            assert resp.status == 200, doc
        return [parse_envelope(e) for e in doc["envelopes"]]

    def opened(self, agency_id: str, envelope: Envelope) -> dict[str, Any]:
        """The envelope's payload, opened with the agency's key."""
        opened = open_envelope(
            envelope, recipient=self.agencies[agency_id].key, sender=self.hub.keys.identity.public
        )
        return dict(opened.payload)

    async def state(self) -> tuple[int, int]:
        """(outbox rows, log entries): what a refusal must leave as it was."""
        async with self.hub.app[ENGINE].connect() as conn:
            queued = await conn.scalar(select(func.count()).select_from(outbox))
            return int(queued or 0), await size(conn)

    async def entries(self) -> list[Any]:
        """Every log entry, in order."""
        async with self.hub.app[ENGINE].connect() as conn:
            rows = await conn.execute(select(log_entries.c.entry).order_by(log_entries.c.idx))
            return [parse_entry(bytes(r.entry)) for r in rows]

    async def hold(self, who: str, ref: str, agency_id: str, **extra: Any) -> str:
        """An extract ``who`` asks for that is held (by the policy, or four eyes)."""
        status, doc = await self.call(
            "POST", f"/api/v1/cases/{ref}/extracts", who, {"agency_id": agency_id, **extra}
        )
        assert status == 202 and doc["status"] == "held", doc
        held_id: str = doc["held_id"]
        return held_id

    async def web(self, user: str) -> WebSession:
        """A web session signed in as ``user`` (closed with the world)."""
        session = WebSession(self.hub.url)
        self.sessions.append(session)
        return await session.login(user)

    async def cli(self, *argv: str) -> tuple[int, str, str]:
        """``marac-hub`` on this hub's data directory and database: (exit code, out, err)."""
        settings = self.hub.settings
        args = ["--data-dir", str(settings.data_dir)]
        if settings.database_url:
            args += ["--database-url", settings.database_url]
        env = {
            **os.environ,
            "MARAC_HUB_KEY_PASSPHRASE": PASSPHRASE,
            "MARAC_HUB_KEY_FILE_STRENGTH": "interactive",
        }
        env.pop("MARAC_HUB_DATABASE_URL", None)
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "marac-hub"),
            *args,
            *argv,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        return int(process.returncode or 0), out.decode(), err.decode()


class WebSession:
    """A browser-like client of the web UI: its cookies and the page's CSRF token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def request(
        self, method: str, path: str, data: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """One request, redirects not followed; the page's CSRF token is remembered."""
        async with self.session.request(
            method, self.url + path, data=data, allow_redirects=False
        ) as resp:
            body = await resp.text()
        if found := re.search(r'name="csrf" value="([^"]+)"', body):
            self.csrf = found.group(1)
        return resp.status, body

    async def login(self, name: str) -> WebSession:
        """Sign in and open the dashboard (for its CSRF token)."""
        _, body = await self.request("GET", "/login")
        token = re.search(r'name="login_token" value="([^"]+)"', body)
        assert token, body
        status, _ = await self.request(
            "POST",
            "/login",
            {"login_token": token.group(1), "username": name, "password": PASSWORD},
        )
        assert status == 303
        await self.request("GET", "/dashboard")
        return self

    async def post(self, path: str) -> tuple[int, str]:
        """POST a form with the session's CSRF token."""
        return await self.request("POST", path, {"csrf": self.csrf})

    async def close(self) -> None:
        await self.session.close()


def now() -> datetime:
    return datetime.now(UTC)


async def _enrol(world: World, agency_id: str, kind: str) -> Agency:
    status, doc = await world.call(
        "POST",
        "/api/v1/agencies",
        body={
            "id": agency_id,
            "name": f"{agency_id} service",
            "kind": kind,
            "isp_version": "2026.1",
            "isp_signed_by": "Designated MARAC Officer",
            "isp_signed_on": "2026-11-01",
        },
    )
    assert status == 201, doc
    agency = Agency(agency_id)
    announcement = announce_key(agency.identity, agency_id, agency.key.public, now=now())
    async with world.http.post(
        f"{world.hub.url}/api/v1/enrol",
        json={"code": doc["enrolment_code"], "announcement": announcement.to_json()},
    ) as resp:
        assert resp.status == 201, await resp.text()
    status, doc = await world.call(
        "POST",
        f"/api/v1/agencies/{agency_id}/approve",
        body={"identity_fingerprint": agency.identity.fingerprint},
    )
    assert status == 200, doc
    return agency


async def _seed(world: World) -> None:
    for area in ("north", "south"):
        status, doc = await world.call(
            "POST", "/api/v1/areas", body={"id": area, "name": f"{area.title()} MARAC"}
        )
        assert status == 201, doc
    for name, role in STAFF.items():
        world.tokens[name] = await world.hub.add_user(name, role)
        await set_password(world.hub.app[ENGINE], name, PASSWORD, now=now(), strength="interactive")
    for name, area in AREAS.items():
        status, doc = await world.call("POST", f"/api/v1/areas/{area}/users", body={"user": name})
        assert status == 201, doc
    for agency_id, (kind, area) in AGENCIES.items():
        world.agencies[agency_id] = await _enrol(world, agency_id, kind)
        status, doc = await world.call(
            "POST", f"/api/v1/areas/{area}/agencies", body={"agency": agency_id}
        )
        assert status == 201, doc
    for who, area, by in (("nora", "north", "police-north"), ("sam", "south", "refuge-south")):
        doc = referral(referring_agency=by, perpetrator_must_not_know=False)
        status, doc = await world.call(
            "POST", "/api/v1/cases", who, {"area": area, "referral": doc}
        )
        assert status == 201, doc
        setattr(world, f"{area}_ref", doc["case_ref"])


@contextlib.asynccontextmanager
async def world_on(engine: str, tmp_path: Path) -> AsyncIterator[World]:
    """The seeded hub on ``sqlite`` or ``postgresql`` (``OSError`` if no server answers)."""
    async with contextlib.AsyncExitStack() as stack:
        url = None
        if engine == "postgresql":
            url = await stack.enter_async_context(postgres_database(migrated=True))
        hub = await stack.enter_async_context(
            running_hub(tmp_path / "hub", database_url=url, password_strength="interactive")
        )
        http = await stack.enter_async_context(aiohttp.ClientSession())
        world = World(hub, http)
        await _seed(world)
        try:
            yield world
        finally:
            for session in world.sessions:
                await session.close()
