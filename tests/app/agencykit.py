"""Helpers of the agency-administration tests: one real hub (served from its own thread)
with two areas, their coordinators, a DPO and an admin, driven through its three doors:
the API (bearer tokens), the web UI (signed-in sessions posting forms with their CSRF
token) and the CLI (``hub.cli.main`` with ``--by``)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.agencies.tables import agencies
from hub.cases.tables import agency_areas
from hub.cli import main
from hub.crypto.announce import announce_key
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.delivery.tables import agency_delivery
from hub.log.entries import parse_entry
from hub.log.store import entry, size
from hub.service.appkeys import ENGINE
from hub.signin.passwords import set_password

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from webkit import PASSWORD, HubThread, WebClient

__all__ = ["PASSWORD", "HubThread", "Kit", "WebClient"]

ISP = {
    "isp_version": "2026.1",
    "isp_signed_by": "Designated MARAC Officer",
    "isp_signed_on": "2026-11-01",
}
# name: (role, areas). bo coordinates both areas.
STAFF: dict[str, tuple[str, tuple[str, ...]]] = {
    "nora": ("coordinator", ("north",)),
    "sam": ("coordinator", ("south",)),
    "bo": ("coordinator", ("north", "south")),
    "dana": ("dpo", ()),
    "ada": ("admin", ()),
}


@dataclass
class Kit:
    """The hub, its staff's tokens, and one call per door."""

    hub: HubThread
    tokens: dict[str, str] = field(default_factory=dict)
    identities: dict[str, IdentityKeyPair] = field(default_factory=dict)

    # -- the API ------------------------------------------------------------------------
    def api(
        self, method: str, path: str, who: str | None = "ada", body: Any = None
    ) -> tuple[int, Any]:
        """One API call as ``who`` (a name in STAFF; None: anonymous)."""

        async def go() -> tuple[int, Any]:
            headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
            async with self.hub.http.request(
                method, self.hub.url + path, json=body, headers=headers
            ) as resp:
                return resp.status, await resp.json(content_type=None)

        return self.hub.run(go())

    # -- the web UI ---------------------------------------------------------------------
    def web(self, who: str) -> WebClient:
        """A signed-in web session (the agencies page read once, for its CSRF token)."""
        client = WebClient(self.hub)
        assert client.login(who) == 303
        if STAFF[who][0] != "dpo":
            client.get("/agencies")
        return client

    # -- the CLI ------------------------------------------------------------------------
    def cli(
        self, capsys: pytest.CaptureFixture[str], *argv: str, by: str | None
    ) -> tuple[int, str, str]:
        """``marac-hub ARGV --by BY`` in this process; ``(status, stdout, stderr)``."""
        capsys.readouterr()
        extra = ["--by", by] if by else []
        status = main(["--data-dir", str(self.hub.hub.settings.data_dir), *argv, *extra])
        out, err = capsys.readouterr()
        return status, out, err

    # -- set-up -------------------------------------------------------------------------
    def seed(self) -> None:
        """Areas north and south; the staff of STAFF with tokens and web passwords."""

        async def go() -> None:
            engine = self.hub.hub.app[ENGINE]
            for name, (role, _) in STAFF.items():
                self.tokens[name] = await self.hub.hub.add_user(name, role)
                await set_password(
                    engine, name, PASSWORD, now=datetime.now(UTC), strength="interactive"
                )

        self.hub.run(go())
        for area in ("north", "south"):
            assert self.api("POST", "/api/v1/areas", body={"id": area, "name": area})[0] == 201
        for name, (_, areas) in STAFF.items():
            for area in areas:
                path = f"/api/v1/areas/{area}/users"
                assert self.api("POST", path, body={"user": name})[0] == 201

    def agency(self, agency_id: str, areas: tuple[str, ...], *, status: str = "active") -> None:
        """An agency serving ``areas``, invited by the admin and enrolled; approved unless
        ``status`` is ``pending``; then suspended if ``status`` is ``suspended``."""
        code, doc = self.api(
            "POST",
            "/api/v1/agencies",
            body={"id": agency_id, "name": agency_id, "kind": "police", **ISP, "areas": areas},
        )
        assert code == 201, doc
        identity = IdentityKeyPair.generate()
        self.identities[agency_id] = identity
        signed = announce_key(
            identity, agency_id, EncryptionKeyPair.generate().public, now=datetime.now(UTC)
        )

        async def enrol() -> int:
            async with self.hub.http.post(
                f"{self.hub.url}/api/v1/enrol",
                json={"code": doc["enrolment_code"], "announcement": signed.to_json()},
            ) as resp:
                return resp.status

        assert self.hub.run(enrol()) == 201
        if status in ("active", "suspended"):
            path = f"/api/v1/agencies/{agency_id}/approve"
            body = {"identity_fingerprint": identity.fingerprint}
            assert self.api("POST", path, body=body)[0] == 200
        if status == "suspended":
            assert self.api("POST", f"/api/v1/agencies/{agency_id}/suspend")[0] == 200

    # -- what the database and the log hold ---------------------------------------------
    def log_size(self) -> int:
        """How many entries the disclosure log holds."""

        async def go() -> int:
            async with self.hub.hub.app[ENGINE].connect() as conn:
                return await size(conn)

        return self.hub.run(go())

    def entries(self, since: int) -> list[dict[str, Any]]:
        """The log entries from index ``since`` on, as JSON."""

        async def go() -> list[dict[str, Any]]:
            async with self.hub.hub.app[ENGINE].connect() as conn:
                end = await size(conn)
                found = []
                for index in range(since, end):
                    data = await entry(conn, index)
                    assert data is not None
                    found.append(parse_entry(data).model_dump(mode="json", exclude_none=True))
                return found

        return self.hub.run(go())

    def status(self, agency_id: str) -> str | None:
        """The agency's status (None: no such agency)."""

        async def go() -> str | None:
            async with self.hub.hub.app[ENGINE].connect() as conn:
                found = await conn.scalar(
                    select(agencies.c.status).where(agencies.c.id == agency_id)
                )
                return None if found is None else str(found)

        return self.hub.run(go())

    def served(self, agency_id: str) -> set[str]:
        """The areas the agency serves."""

        async def go() -> set[str]:
            async with self.hub.hub.app[ENGINE].connect() as conn:
                rows = await conn.execute(
                    select(agency_areas.c.area_id).where(agency_areas.c.agency_id == agency_id)
                )
                return {r.area_id for r in rows}

        return self.hub.run(go())

    def delivery_by(self, agency_id: str) -> str | None:
        """Who last chose the agency's delivery (None: never chosen)."""

        async def go() -> str | None:
            async with self.hub.hub.app[ENGINE].connect() as conn:
                found = await conn.scalar(
                    select(agency_delivery.c.updated_by).where(
                        agency_delivery.c.agency_id == agency_id
                    )
                )
                return None if found is None else str(found)

        return self.hub.run(go())


def same_entries(entries: list[dict[str, Any]]) -> list[str]:
    """Entries without what differs between doors (the time and the door), as JSON."""
    return [
        json.dumps({k: v for k, v in e.items() if k not in ("at", "door")}, sort_keys=True)
        for e in entries
    ]
