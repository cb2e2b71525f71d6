"""The demo behind ``marac-hub demo``: the real hub on loopback with a MARAC to look at.

The first run initialises ``data/``, enrols three demo agencies with the real
``agency-client enrol`` and makes a meeting through the application core
(``hub.demo_world``: a dozen referrals, the agenda published, research answered by the
agencies' clients, attendance, actions); later runs reuse all of it. ``--seal-only``
instead seals and opens one envelope between two fresh identities, with no server and
nothing stored.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from hub import agencies
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import open_envelope, seal
from hub.demo_world import AREA, STAFF_FILE, AgencyCommand, World, read_world, seed_world
from hub.hub_keys import IDENTITY, create_hub_keys
from hub.policy.isp import current_isp, publish_isp
from hub.protocol.envelope import SUITE_HYBRID, SUITE_X25519, parse_envelope
from hub.protocol.errors import HubError
from hub.protocol.messages import ActionNotice, ActionSummary
from hub.server import create_app
from hub.settings import Settings
from hub.storage.engine import create_engine
from hub.storage.schema import migrate
from hub.users import add_user

HELP = "run the hub on loopback with demo agencies enrolled (--seal-only: no server)"
DEMO_AGENCIES = (
    ("police-demo", "Demo Police", "police"),
    ("idva-demo", "Demo IDVA Service", "idva"),
    ("housing-demo", "Demo Housing", "housing"),
)
DEMO_PASSPHRASE = "demo passphrase - not for real use"  # noqa: S105 - documented demo value
ADMIN_TOKEN_FILE = "demo-admin-token"  # noqa: S105 - a file name
DEMO_ISP = "2026.1"
WITNESS_EVERY = 300.0  # seconds between the demo agencies' witness runs (docs/agencies.md)


def run_demo(settings: Settings) -> int:
    """Serve the demo hub on ``settings``' data directory and port until interrupted."""
    return asyncio.run(_serve_demo(settings))


async def _serve_demo(settings: Settings) -> int:
    fresh = not (settings.data_dir / IDENTITY).exists()
    engine = create_engine(settings.db_url)
    try:
        if fresh:
            create_hub_keys(settings)
        await migrate(engine)
        if fresh:
            token = await add_user(engine, "admin", "admin", now=datetime.now(UTC))
            _write_private(settings.data_dir / ADMIN_TOKEN_FILE, token)
        codes = await _invite_demo_agencies(engine)
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        url = f"http://{settings.host}:{settings.port}"
        try:
            await _enrol_demo_agencies(engine, settings.data_dir, url, codes)
            world = read_world(settings.data_dir)
            if world is None:
                print("making the demo's meeting (a dozen referrals, research, actions)")
                admin_token = (settings.data_dir / ADMIN_TOKEN_FILE).read_text().strip()
                try:
                    world = await seed_world(
                        settings, _agency_command(settings.data_dir), date.today(), admin_token
                    )
                except HubError as exc:
                    raise HubError(
                        f"the demo's meeting could not be made ({exc}); it is made once, in "
                        f"{settings.data_dir}/: remove that directory to start the demo afresh",
                        code=exc.code,
                    ) from None
            await _witness(settings.data_dir)
            _print_instructions(settings, url, world)
            while True:  # the demo agencies witness the log as real ones would
                await asyncio.sleep(WITNESS_EVERY)
                await _witness(settings.data_dir)
        finally:
            await runner.cleanup()
    finally:
        await engine.dispose()


async def _witness(data_dir: Path) -> None:
    """Each demo agency witnesses the log once (``agency-client witness``): without a
    quorum of witnesses of two kinds, ``marac-hub log verify`` would fail half an hour
    after the demo's last checkpoint. A failure is one line; the demo goes on serving."""
    run = _agency_command(data_dir)
    done = await asyncio.gather(
        *(run(agency_id, ["witness"]) for agency_id, _, _ in DEMO_AGENCIES),
        return_exceptions=True,
    )
    for outcome in done:
        if isinstance(outcome, HubError):
            print(f"demo: {outcome}", flush=True)
        elif isinstance(outcome, BaseException):
            raise outcome


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


async def _invite_demo_agencies(engine: Any) -> dict[str, str]:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        if await current_isp(conn) is None:
            await publish_isp(
                conn,
                version=DEMO_ISP,
                title="Demo information sharing protocol",
                document_sha256=None,
                by="demo",
                now=now,
            )
    known = {a.id for a in await agencies.list_agencies(engine, now)}
    codes = {}
    for agency_id, name, kind in DEMO_AGENCIES:
        if agency_id not in known:
            codes[agency_id] = await agencies.invite(
                engine,
                agency_id=agency_id,
                name=name,
                kind=kind,
                isp_version=DEMO_ISP,
                isp_signed_by="Demo Designated MARAC Officer",
                isp_signed_on=date.today(),
                now=now,
            )
    return codes


def _agency_client() -> str:
    client = shutil.which("agency-client", path=str(Path(sys.executable).parent)) or shutil.which(
        "agency-client"
    )
    if client is None:
        raise HubError("agency-client is not installed next to marac-hub", code="not-found")
    return client


def _agency_command(data_dir: Path) -> AgencyCommand:
    """Run ``agency-client ARGV --dir <the agency's demo directory>``; its output."""

    async def run(agency_id: str, argv: list[str]) -> str:
        proc = await asyncio.create_subprocess_exec(
            _agency_client(),
            *argv,
            "--dir",
            str(data_dir / "demo-clients" / agency_id),
            env={**os.environ, "AGENCY_CLIENT_PASSPHRASE": DEMO_PASSPHRASE},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise HubError(
                f"demo agency {agency_id}: agency-client {argv[0]} failed: "
                f"{err.decode(errors='replace').strip()}",
                code="hub-error",
            )
        return out.decode()

    return run


async def _enrol_demo_agencies(
    engine: Any, data_dir: Path, url: str, codes: dict[str, str]
) -> None:
    client = _agency_client() if codes else ""
    for agency_id, code in codes.items():
        proc = await asyncio.create_subprocess_exec(
            str(client),
            "enrol",
            "--hub",
            url,
            "--code",
            code,
            "--dir",
            str(data_dir / "demo-clients" / agency_id),
            env={**os.environ, "AGENCY_CLIENT_PASSPHRASE": DEMO_PASSPHRASE},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        found = re.search(rb"agency identity\s+ed25519\s+([0-9a-f]{64})", out)
        if proc.returncode != 0 or found is None:
            raise HubError(
                f"demo enrolment of {agency_id} failed: {err.decode(errors='replace').strip()}",
                code="hub-error",
            )
        # In real use the coordinator compares this fingerprint out of band first.
        await agencies.approve(
            engine, agency_id, found.group(1).decode(), by="demo", now=datetime.now(UTC)
        )
        print(f"enrolled and approved demo agency {agency_id}", flush=True)


def _print_instructions(settings: Settings, url: str, world: World) -> None:
    data = settings.data_dir
    clients = data / "demo-clients"
    answered = " and ".join(sorted({agency for agency, _ref in world.research}))
    print(
        f"""
marac-hub is serving on {url} (data in {data}/)

The demo MARAC, {AREA}; every name in it is fictional:
  {len(world.listed) + len(world.waiting)} referrals; {len(world.waiting)} still wait to be listed
  the meeting on {world.meeting_date}: {len(world.listed)} cases on its agenda, published
  research answered by {answered}; housing-demo has not answered
  attendance recorded, {len(world.actions)} actions agreed
  {world.repeat} is a repeat referral; {world.restricted} is restricted
    (the perpetrator must not know)

Sign in at {url}/login; the staff's passwords (and API tokens) are in {data}/{STAFF_FILE}:
  nora   coordinator of {AREA}: the meeting is {url}/meetings/{world.meeting_id}
  dara   DPO: the disclosure log is {url}/log
  admin  admin
At the first sign-in the hub asks for a second factor: scan the QR code it shows with an
authenticator app (or type in the secret shown under it), enter the 6-digit code the app
shows, and keep the recovery codes it then shows (staff sign in with a second factor; see
docs/web.md).

An agency's own view: the IDVA's workspace (its research requests and actions), in
another terminal; it prints a link to open, and asks for the key passphrase,
'{DEMO_PASSPHRASE}':
  .venv/bin/agency-client ui --dir {clients}/idva-demo

Receive as a demo agency, or send every demo agency a sealed notice:
  AGENCY_CLIENT_PASSPHRASE='{DEMO_PASSPHRASE}' \\
    .venv/bin/agency-client run --dir {clients}/police-demo --sink stdout
  .venv/bin/marac-hub --data-dir {data} send --all --text "Agenda for 3 December is out."

The three demo agencies witness the disclosure log every five minutes while this runs
(as real agencies' clients do), so the DPO's check passes:
  .venv/bin/marac-hub --data-dir {data} log verify

The admin API token is in {data}/{ADMIN_TOKEN_FILE}. Stop with Ctrl-C.""",
        flush=True,
    )


def seal_demo() -> int:
    """Make a hub and an agency identity, seal an action notice, open it, report."""
    now = datetime.now(UTC)
    hub_identity = IdentityKeyPair.generate()
    agency_identity = IdentityKeyPair.generate()
    print("marac-hub demo: the wire protocol, with no server and no stored data")
    print(f"  hub identity     Ed25519  {hub_identity.fingerprint}")
    print(f"  agency identity  Ed25519  {agency_identity.fingerprint}")
    notice = ActionNotice(
        action=ActionSummary(
            action_id="01KAQZ7Y3M8V4J9W2E6R5T1Q0P",
            case_ref="M-2026-0001",
            owner_agency="housing-demo",
            description="Fit additional locks at the victim's address (demo data).",
            due_date=date(2026, 12, 7),
            status="open",
        ),
        perpetrator_must_not_know=True,
    )
    for suite in (SUITE_X25519, SUITE_HYBRID):
        agency_key = EncryptionKeyPair.generate(suite)
        started = time.perf_counter()
        envelope = seal(
            notice,
            sender=hub_identity,
            sender_id="hub",
            recipient_id="housing-demo",
            recipient_key=agency_key.public,
            now=now,
            case_ref="M-2026-0001",
        )
        wire = envelope.to_bytes()
        sealed = time.perf_counter()
        opened = open_envelope(
            parse_envelope(wire), recipient=agency_key, sender=hub_identity.public
        )
        done = time.perf_counter()
        assert opened.message() == notice
        print(f"\n  suite {suite}")
        print(f"    agency encryption key  {agency_key.fingerprint}")
        print(
            f"    sealed envelope {envelope.header.id}: {len(wire)} bytes on the wire, "
            f"signed by the hub, encrypted to the agency ({(sealed - started) * 1e3:.2f} ms)"
        )
        print(
            f"    opened by the agency: signature and header verified, "
            f"{opened.header.type} for {opened.header.case_ref} "
            f"({(done - sealed) * 1e3:.2f} ms)"
        )
        print(f"    action: {notice.action.description}")
    return 0
