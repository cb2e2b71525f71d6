"""Helpers shared by the agency client's tests (plain functions; no conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from agency_client.datadir import DataDir
from agency_client.hub_client import HubClient
from agency_client.store import Store
from hub.crypto.keyfile import Strength
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import OpenedEnvelope, open_envelope, seal
from hub.protocol import SUITE_X25519, Envelope
from hub.protocol.messages import BasisRef, CaseExtract, Notice, PersonDetails
from hub.testing import RunningHub

PASS = "a long agency passphrase"
FAST: Strength = (
    "interactive"  # Argon2id parameters are tested in tests/crypto; tests use the quick ones
)
VICTIM = "Philippa Quennell-Ashdown"


def extract(victim: str = VICTIM, case_ref: str = "M-2026-0001") -> CaseExtract:
    """A case extract naming a victim."""
    return CaseExtract(
        case_ref=case_ref,
        purpose="meeting",
        policy_version="2026.1",
        lawful_basis=BasisRef(id="cda-s115", version=1),
        victim=PersonDetails(subject_id="S-1", role="victim", name=victim),
    )


def sealed(
    hub: IdentityKeyPair,
    key: EncryptionKeyPair,
    message: Notice | CaseExtract | None = None,
    *,
    to: str = "police-north",
    now: datetime | None = None,
) -> Envelope:
    """An envelope from ``hub`` to ``key``."""
    message = message or Notice(text="Agenda published.")
    return seal(
        message,
        sender=hub,
        sender_id="hub",
        recipient_id=to,
        recipient_key=key.public,
        now=now or datetime.now(UTC),
        case_ref=getattr(message, "case_ref", None),
    )


def opened(hub: IdentityKeyPair, key: EncryptionKeyPair, **kwargs: Any) -> OpenedEnvelope:
    """A sealed envelope, opened: what the runner stores."""
    envelope = sealed(hub, key, **kwargs)
    return open_envelope(envelope, recipient=key, sender=hub.public)


async def staff(
    http: aiohttp.ClientSession,
    hub: RunningHub,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
) -> Any:
    """A staff call (by default with the hub's admin token); asserts success."""
    headers = {"Authorization": f"Bearer {token or hub.admin_token}"}
    async with http.request(method, hub.url + path, json=body, headers=headers) as resp:
        doc = await resp.json(content_type=None)
        assert resp.status < 300, doc
        return doc


async def invite(http: aiohttp.ClientSession, hub: RunningHub, agency_id: str, kind: str) -> str:
    """Invite an agency; its enrolment code."""
    doc = await staff(
        http,
        hub,
        "POST",
        "/api/v1/agencies",
        {
            "id": agency_id,
            "name": f"{agency_id} service",
            "kind": kind,
            "isp_version": "2026.1",
            "isp_signed_by": "Designated MARAC Officer",
            "isp_signed_on": "2026-11-01",
        },
    )
    code: str = doc["enrolment_code"]
    return code


async def approve(
    http: aiohttp.ClientSession, hub: RunningHub, agency_id: str, fingerprint: str
) -> None:
    """Approve an enrolled agency by the fingerprint it read out."""
    await staff(
        http,
        hub,
        "POST",
        f"/api/v1/agencies/{agency_id}/approve",
        {"identity_fingerprint": fingerprint},
    )


async def notice(
    http: aiohttp.ClientSession,
    hub: RunningHub,
    text: str,
    to: str = "all",
    token: str | None = None,
) -> list[dict[str, str]]:
    """Send a coordinator's notice; the queued envelopes."""
    doc = await staff(http, hub, "POST", "/api/v1/notices", {"to": to, "text": text}, token)
    envelopes: list[dict[str, str]] = doc["envelopes"]
    return envelopes


@dataclass
class Agency:
    """An enrolled (and approved) agency: its data directory, keys, store and client."""

    id: str
    data: DataDir
    identity: IdentityKeyPair
    store: Store
    client: HubClient

    def encryption_keys(self) -> dict[str, EncryptionKeyPair]:
        return self.data.keys.encryption_keys(PASS)


async def enrolled(
    http: aiohttp.ClientSession,
    hub: RunningHub,
    root: Path,
    agency_id: str,
    kind: str = "police",
    *,
    approved: bool = True,
    suite: str = SUITE_X25519,
) -> Agency:
    """Make keys, enrol through ``HubClient.enrol``, pin the hub key, approve."""
    data = DataDir(root / agency_id)
    identity, key = data.keys.create(PASS, strength=FAST, suite=suite)
    now = datetime.now(UTC)
    enrolment = await HubClient.enrol(
        hub.url, await invite(http, hub, agency_id, kind), identity, key.public, now
    )
    store = data.open_store(identity, create=True)
    store.record_enrolment(
        agency_id=agency_id, hub_url=hub.url, hub_key=enrolment.hub_key, key=key, now=now
    )
    if approved:
        await approve(http, hub, agency_id, identity.fingerprint)
    return Agency(agency_id, data, identity, store, HubClient(hub.url, agency_id, identity))
