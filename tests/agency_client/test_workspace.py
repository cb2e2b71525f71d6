"""``agency-client ui`` over HTTP: the one-time link, the Host check, CSRF, the lock and the
idle lock, the pages, hostile form input, and that nothing readable reaches the data
directory. Messages are sealed by a real hub's keys and stored as the runner stores them;
responses and updates go to the real hub (its handlers recording what arrives)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from agency_helpers import PASS, Agency, enrolled

from agency_client.workspace.app import CSP, serve
from agency_client.workspace.guard import Guard
from hub.adapters.formats.fhir import FhirR4Format
from hub.adapters.formats.pole import PoleFormat
from hub.crypto.sealing import open_envelope, seal
from hub.inbound import INBOUND_TYPES, replaced
from hub.protocol.messages import (
    ActionNotice,
    ActionSummary,
    ActionUpdate,
    Agenda,
    AgendaItem,
    BasisRef,
    CaseExtract,
    Message,
    Minutes,
    MinutesItem,
    PersonDetails,
    Rendered,
    ResearchRequest,
    ResearchResponse,
    payload_of,
)
from hub.testing import RunningHub, running_hub

CASE, OTHER = "M-2026-0042", "M-2026-0043"
MEETING = "01JD00000000000000000000M1"
REQUEST = "01JD0000000000000000000009"
ACTION = "01JD00000000000000000000A1"
VICTIM, PERPETRATOR = "Philippa Quennell-Ashdown", "Desmond Harrow-Vance"
FHIR_VICTIM, POLE_VICTIM = "Oriana Fhirsby-Lockwood", "Perpetua Polesworth"
SECRET_NOTE = "Sergeant Umbridge-Tolliver saw bruising"  # typed into a draft

Received = list[tuple[str, Message]]
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def received() -> Iterator[Received]:
    """What the hub's handlers got (the real registry, recording handlers)."""
    got: Received = []

    async def handle(
        conn: Any, ctx: Any, agency: Any, message: Message, envelope_id: str, now: datetime
    ) -> dict[str, Any]:
        got.append((agency.id, message))
        return {"ok": True}

    with replaced(dict.fromkeys(INBOUND_TYPES, handle)):
        yield got


def deliver(hub: RunningHub, agency: Agency, message: Message, sent: datetime, ref: str) -> str:
    """Store ``message`` as the runner would after receiving it; its envelope id."""
    [key] = agency.encryption_keys().values()
    envelope = seal(
        message,
        sender=hub.keys.identity,
        sender_id="hub",
        recipient_id=agency.id,
        recipient_key=key.public,
        now=sent,
        case_ref=ref or None,
    )
    opened = open_envelope(envelope, recipient=key, sender=hub.keys.identity.public)
    agency.store.add(opened, envelope.digest(), sent)
    return envelope.header.id


def people(victim: str = VICTIM) -> tuple[PersonDetails, PersonDetails]:
    return (
        PersonDetails(subject_id="S-1", role="victim", name=victim, date_of_birth=date(1990, 4, 2)),
        PersonDetails(subject_id="S-2", role="perpetrator", name=PERPETRATOR),
    )


def papers() -> list[tuple[Message, str]]:
    victim, perpetrator = people()
    due = date.today() + timedelta(days=10)
    extract = CaseExtract(
        case_ref=CASE,
        meeting_id=MEETING,
        purpose="meeting",
        policy_version="2026.1",
        lawful_basis=BasisRef(id="cda-s115", version=1),
        victim=victim,
        perpetrator=perpetrator,
        perpetrator_must_not_know=True,
        summary="Escalating incidents since March.",
    )
    agenda = Agenda(
        meeting_id=MEETING,
        area="north",
        meeting_date=date.today() + timedelta(days=7),
        location="Town Hall",
        items=(
            AgendaItem(
                case_ref=CASE,
                position=1,
                victim=victim,
                perpetrator=perpetrator,
                has_children=False,
                is_repeat=False,
            ),
        ),
    )
    request = ResearchRequest(
        request_id=REQUEST,
        case_ref=CASE,
        meeting_id=MEETING,
        respond_by=date.today() + timedelta(days=5),
        subjects=(victim, perpetrator),
        questions="Any call-outs to the address?",
    )
    notice = ActionNotice(
        action=ActionSummary(
            action_id=ACTION,
            case_ref=CASE,
            owner_agency="police-north",
            description="Flag the address for an urgent response.",
            due_date=due,
            status="open",
        ),
        meeting_id=MEETING,
    )
    minutes = Minutes(
        meeting_id=MEETING,
        area="north",
        meeting_date=date.today() - timedelta(days=1),
        attended=("police-north", "idva-north"),
        items=(
            MinutesItem(
                case_ref=CASE, victim=victim, discussion="Agreed a joint safety plan.", actions=()
            ),
        ),
    )
    rendered = []
    for fmt, renderer, name in (
        ("fhir-r4", FhirR4Format(), FHIR_VICTIM),
        ("pole", PoleFormat(), POLE_VICTIM),
    ):
        other = extract.model_copy(update={"case_ref": OTHER, "victim": people(name)[0]})
        document = renderer.render(other)
        rendered.append(
            (Rendered(format=fmt, original_type="case_extract", document=document), OTHER)
        )
    return [
        (agenda, ""),
        (extract, CASE),
        (request, CASE),
        (notice, CASE),
        (minutes, ""),
        *rendered,
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[RunningHub, Agency]]:
    """One hub and one enrolled agency for the module, holding an agenda, an extract, a
    research request, an action notice, and a FHIR and a POLE case extract."""
    root = tmp_path_factory.mktemp("workspace")
    async with running_hub(root / "hub") as hub, aiohttp.ClientSession() as http:
        made = await enrolled(http, hub, root, "police-north")
        for n, (message, ref) in enumerate(papers()):
            deliver(hub, made, message, datetime(2026, 11, 1, 9, n, tzinfo=UTC), ref)
        yield hub, made
        await made.client.close()
        made.store.close()


@pytest.fixture
def agency(world: tuple[RunningHub, Agency]) -> Agency:
    """The module's agency."""
    return world[1]


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Visitor:
    """A browser-like HTTP client of one workspace: cookies, the last page's CSRF token."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.base = f"http://127.0.0.1:{guard.port}"
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def request(
        self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.session.request(
            method, self.base + path, data=data, headers=headers, allow_redirects=False
        ) as resp:
            body = await resp.text()
        if found := re.search(r'name="csrf" value="([^"]+)"', body):
            self.csrf = found.group(1)
        return resp.status, body, resp

    async def get(self, path: str) -> tuple[int, str, aiohttp.ClientResponse]:
        return await self.request("GET", path)

    async def post(
        self, path: str, data: dict[str, str] | list[tuple[str, str]], **kw: Any
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if not any(k == "csrf" for k, _ in fields):
            fields.insert(0, ("csrf", self.csrf))
        return await self.request("POST", path, fields, **kw)

    async def open_and_unlock(self) -> None:
        status, _, resp = await self.get(f"/open?token={self.guard.token}")
        assert status == 303 and resp.headers["Location"] == "/unlock"
        await self.get("/unlock")
        status, body, resp = await self.post("/unlock", {"passphrase": PASS, "next": "/"})
        assert status == 303, body
        await self.get("/")


@pytest_asyncio.fixture(loop_scope="module")
async def workspace(agency: Agency) -> AsyncIterator[tuple[Guard, Visitor, Clock]]:
    clock = Clock()
    guard = Guard(agency.data, idle=timedelta(minutes=15), clock=clock)
    runner = await serve(guard)
    visitor = Visitor(guard)
    yield guard, visitor, clock
    await visitor.session.close()
    await runner.cleanup()


async def test_the_link_opens_once_and_every_answer_is_locked_down(workspace) -> None:  # type: ignore[no-untyped-def]
    guard, visitor, _ = workspace
    token = guard.token
    status, body, resp = await visitor.get("/")
    assert status == 403 and "from the link" in body
    for header, value in (
        ("Content-Security-Policy", CSP),
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
    ):
        assert resp.headers[header] == value
    assert (await visitor.get("/open?token=" + "x" * len(token)))[0] == 403
    status, _, resp = await visitor.get(f"/open?token={token}")
    assert status == 303
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert (await visitor.get(f"/open?token={token}"))[0] == 303  # the same browser again
    assert (await visitor.get("/"))[2].headers["Location"].startswith("/unlock?next=")
    # The token is spent: a second browser (an attacker who read the link) gets nothing.
    other = Visitor(guard)
    try:
        status, body, _ = await other.get(f"/open?token={token}")
        assert status == 403 and "used" in body
        assert (await other.get("/unlock"))[0] == 403
    finally:
        await other.session.close()


async def test_dns_rebinding_another_host_name_is_refused(workspace) -> None:  # type: ignore[no-untyped-def]
    guard, visitor, _ = workspace
    await visitor.open_and_unlock()
    for host in (f"evil.example:{guard.port}", "127.0.0.1", f"127.0.0.1:{guard.port + 1}"):
        status, body, _ = await visitor.request("GET", "/", headers={"Host": host})
        assert status == 421 and VICTIM not in body, host
    status, body, _ = await visitor.request("GET", "/", headers={"Host": f"localhost:{guard.port}"})
    assert status == 200 and CASE in body


async def test_wrong_passphrase_lock_and_idle_lock(workspace) -> None:  # type: ignore[no-untyped-def]
    guard, visitor, clock = workspace
    await visitor.get(f"/open?token={guard.token}")
    await visitor.get("/unlock")
    status, body, _ = await visitor.post("/unlock", {"passphrase": "not the passphrase"})
    assert status == 400 and "does not open" in body and guard.unlocked is None
    assert (await visitor.post("/unlock", {"passphrase": "x" * 5000}))[0] == 400
    assert (await visitor.get(f"/cases/{CASE}"))[0] == 303
    status, _, resp = await visitor.post("/unlock", {"passphrase": PASS, "next": f"/cases/{CASE}"})
    assert status == 303 and resp.headers["Location"] == f"/cases/{CASE}"
    status, body, _ = await visitor.get(f"/cases/{CASE}")
    assert status == 200 and VICTIM in body
    assert (await visitor.post("/lock", {}))[0] == 303
    assert guard.unlocked is None and (await visitor.get("/"))[0] == 303
    await visitor.get("/unlock")
    await visitor.post("/unlock", {"passphrase": PASS})
    clock.now += 14 * 60
    assert (await visitor.get("/"))[0] == 200  # used within the idle time: still open
    clock.now += 15 * 60
    status, _, resp = await visitor.get("/actions")
    assert status == 303 and resp.headers["Location"].startswith("/unlock")
    assert guard.unlocked is None
    status, body, _ = await visitor.get("/unlock")
    assert "Locked after 15 minutes" in body and VICTIM not in body
    await visitor.post("/unlock", {"passphrase": PASS})
    clock.now += 16 * 60
    guard.lock_if_idle()  # the timer's check between requests drops the keys too
    assert guard.unlocked is None


async def test_posts_without_the_csrf_token_or_from_elsewhere_are_refused(workspace) -> None:  # type: ignore[no-untyped-def]
    guard, visitor, _ = workspace
    await visitor.open_and_unlock()
    unlocked = guard.unlocked
    assert unlocked is not None
    before = unlocked.store.draft(CASE)
    form = {"item-0-text": "x", "item-0-kind": "fact", "step": "save"}
    for extra, headers in (
        ({"csrf": ""}, None),
        ({"csrf": "forged"}, None),
        ({}, {"Origin": "http://evil.example"}),
    ):
        status, _body, _ = await visitor.post(
            f"/cases/{CASE}/research", {**form, **extra}, headers=headers
        )
        assert status == 403, extra
        assert (await visitor.post("/lock", extra, headers=headers))[0] == 403
    assert unlocked.store.draft(CASE) == before
    assert guard.unlocked is unlocked  # the refused lock did not lock


async def test_every_page_reads_and_no_plaintext_reaches_the_data_directory(  # type: ignore[no-untyped-def]
    workspace, agency
) -> None:
    _guard, visitor, _ = workspace
    await visitor.open_and_unlock()
    status, inbox, _ = await visitor.get("/")
    assert status == 200
    assert "Town Hall" in inbox and VICTIM in inbox and "Respond by" in inbox
    envelope_ids = re.findall(r'href="/messages/([0-9A-Z]{26})"', inbox)
    assert len(set(envelope_ids)) >= 7  # the papers (and what other tests delivered)
    for envelope_id in set(envelope_ids):
        status, body, _ = await visitor.get(f"/messages/{envelope_id}")
        assert status == 200 and "{&#34;" not in body and '{"' not in body
    status, case, _ = await visitor.get(f"/cases/{CASE}")
    assert status == 200 and VICTIM in case and "must not know" in case
    assert "Flag the address" in case and "Agreed a joint safety plan." in case
    status, other, _ = await visitor.get(f"/cases/{OTHER}")
    assert status == 200
    assert "People (FHIR Patient)" in other and FHIR_VICTIM in other  # FHIR, readable
    assert "Persons" in other and POLE_VICTIM in other  # POLE, readable
    status, found, _ = await visitor.get("/?q=polesworth")
    assert status == 200 and "1 message found" in found
    status, found, _ = await visitor.get("/?q=nobody+by+this+name")
    assert "Nothing stored matches" in found
    status, actions, _ = await visitor.get("/actions")
    assert status == 200 and "Flag the address" in actions
    status, keys, _ = await visitor.get("/status")
    assert status == 200 and "Encryption keys" in keys and "never" in keys
    await visitor.get(f"/cases/{CASE}/research")
    status, _, _ = await visitor.post(
        f"/cases/{CASE}/research",
        {"item-0-text": SECRET_NOTE, "item-0-kind": "fact", "step": "save"},
    )
    assert status == 303
    status, draft, _ = await visitor.get(f"/cases/{CASE}/research")
    assert SECRET_NOTE in draft and "Draft saved" in draft
    await visitor.post("/lock", {})
    # Everything the client wrote: the store (and SQLite's side files) and the keys.
    written = b"".join(p.read_bytes() for p in agency.data.path.rglob("*") if p.is_file())
    for text in (VICTIM, PERPETRATOR, FHIR_VICTIM, POLE_VICTIM, SECRET_NOTE, "Town Hall"):
        assert text.encode() not in written, text
    assert sorted(p.name for p in agency.data.path.iterdir()) == [
        "keys",
        "store.sqlite3",
        *(
            ["store.sqlite3-shm", "store.sqlite3-wal"]
            if (agency.data.path / "store.sqlite3-wal").exists()
            else []
        ),
    ]


async def test_hostile_form_input_is_bounded_and_escaped(workspace) -> None:  # type: ignore[no-untyped-def]
    _guard, visitor, _ = workspace
    await visitor.open_and_unlock()
    await visitor.get(f"/cases/{CASE}/research")
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    status, _, _ = await visitor.post(
        f"/cases/{CASE}/research",
        {
            "item-0-text": script,
            "item-0-kind": "opinion",
            "withheld-0-description": script,
            "withheld-0-reason": "live operation",
            "step": "save",
        },
    )
    assert status == 303
    _, body, _ = await visitor.get(f"/cases/{CASE}/research")
    assert "<script>" not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in body
    # Malformed rows: refused with one sentence each, nothing sent, the draft kept.
    status, body, _ = await visitor.post(
        f"/cases/{CASE}/research",
        {
            "item-0-text": "call-out",
            "item-0-kind": "rumour",
            "item-1-text": "y",
            "item-1-kind": "fact",
            "item-1-recorded_on": "2026-02-30",
            "withheld-0-description": "z",
            "item-5000-text": "row-beyond-the-limit",
            "nothing_known": "yes",
            "step": "send",
        },
    )
    assert status == 400
    assert "Say whether item 1 is a fact or an opinion." in body
    assert "The date of item 2 is not a date" in body
    assert "Give the reason withheld item 1 is withheld." in body
    assert "nothing known" in body and "row-beyond-the-limit" not in body
    status, body, _ = await visitor.post(
        f"/cases/{CASE}/research",
        {"item-0-text": "x" * 20_001, "item-0-kind": "fact", "step": "send"},
    )
    assert status == 400 and "longer than 20000 characters" in body
    # Oversized: refused before it is read.
    big = f"csrf={visitor.csrf}&step=save&item-0-text=" + "x" * (1024 * 1024 + 1)
    status, body, _ = await visitor.request(
        "POST",
        f"/cases/{CASE}/research",
        io.BytesIO(big.encode()),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 413 and "larger than this form accepts" in body
    # Paths and redirects that are not ours.
    for path in (
        "/cases/..%2F..%2Fetc",
        "/cases/" + "A" * 41,
        "/messages/not-an-id",
        f"/cases/{CASE}x/research",
        "/actions/01JD00000000000000000000Z9",
    ):
        assert (await visitor.get(path))[0] in (404, 405), path
    assert (await visitor.post("/actions/01JD00000000000000000000Z9", {"status": "open"}))[0] == 404
    await visitor.post("/lock", {})
    await visitor.get("/unlock")
    status, _, resp = await visitor.post(
        "/unlock", {"passphrase": PASS, "next": "//evil.example/x"}
    )
    assert status == 303 and resp.headers["Location"] == "/"


HOSTILE_DOCUMENTS = {
    "fhir-r4": {
        "resourceType": "Bundle",
        "entry": [
            "not a resource",
            {"resource": []},
            {
                "fullUrl": "<b>",
                "resource": {
                    "resourceType": "Patient<script>",
                    "name": "<script>alert(1)</script>",
                    "identifier": {"system": 7},
                    "extension": [{"url": 5}, {"url": "x/meeting-date", "valueDate": "never"}],
                },
            },
        ],
    },
    "pole": {
        "pole_version": "1.0",
        "source": "not an object",
        "persons": {"name": "<script>alert(2)</script>"},
        "events": 12,
        "locations": [{"id": "L1", "address": "<img src=x onerror=alert(3)>"}, 5],
        "links": [{"from": "L1", "to": {"deep": [1, 2]}}, None],
    },
}


async def test_a_malformed_fhir_or_pole_document_is_shown_escaped_not_crashed_on(  # type: ignore[no-untyped-def]
    workspace, world
) -> None:
    _, visitor, _ = workspace
    running, agency = world
    ids = [
        deliver(
            running,
            agency,
            Rendered(format=fmt, original_type="case_extract", document=document),
            datetime(2026, 11, 2, tzinfo=UTC),
            OTHER,
        )
        for fmt, document in HOSTILE_DOCUMENTS.items()
    ]
    await visitor.open_and_unlock()
    for envelope_id in ids:
        status, body, _ = await visitor.get(f"/messages/{envelope_id}")
        assert status == 200, body
        assert "<script>" not in body and "<img" not in body
        assert "&lt;script&gt;" in body or "&lt;img" in body
    status, body, _ = await visitor.get("/")
    assert status == 200 and "<script>" not in body
    assert (await visitor.get(f"/cases/{OTHER}"))[0] == 200


async def test_research_response_and_action_update_reach_the_hub(  # type: ignore[no-untyped-def]
    workspace, received
) -> None:
    guard, visitor, _ = workspace
    await visitor.open_and_unlock()
    form = [
        ("item-0-text", "Two call-outs in March."),
        ("item-0-kind", "fact"),
        ("item-0-recorded_on", "2026-03-02"),
        ("item-1-text", "Risk is rising."),
        ("item-1-kind", "opinion"),
        ("withheld-0-description", "An intelligence report"),
        ("withheld-0-reason", "live operation"),
        ("step", "send"),
    ]
    await visitor.get(f"/cases/{CASE}/research")
    status, _, _ = await visitor.post(f"/cases/{CASE}/research", form)
    assert status == 303
    [(sender, message)] = received
    assert sender == "police-north" and isinstance(message, ResearchResponse)
    assert (message.request_id, message.case_ref) == (REQUEST, CASE)
    assert [(i.text, i.kind) for i in message.items] == [
        ("Two call-outs in March.", "fact"),
        ("Risk is rising.", "opinion"),
    ]
    assert [(w.description, w.reason) for w in message.withheld] == [
        ("An intelligence report", "live operation")
    ]
    unlocked = guard.unlocked
    assert unlocked is not None and unlocked.store.draft(CASE) is None
    _, case, _ = await visitor.get(f"/cases/{CASE}")
    assert "sent to the hub" in case and "Response sent" in case
    assert payload_of(message)["items"][0]["text"] in case
    # The same form posted again (a double click, a reload): not sent twice.
    status, _, _ = await visitor.post(f"/cases/{CASE}/research", form)
    assert status == 303 and len(received) == 1
    assert "already sent" in (await visitor.get(f"/cases/{CASE}"))[1]
    # An action update: cancelling needs a reason (nothing leaves without one).
    await visitor.get("/actions")
    status, body, _ = await visitor.post(f"/actions/{ACTION}", {"status": "cancelled"})
    assert status == 400 and "Give the reason the action is cancelled." in body
    assert len(received) == 1
    status, _, _ = await visitor.post(
        f"/actions/{ACTION}", {"status": "in_progress", "note": "Marker placed"}
    )
    assert status == 303
    update = received[-1][1]
    assert isinstance(update, ActionUpdate)
    assert (update.action_id, update.status, update.note) == (
        ACTION,
        "in_progress",
        "Marker placed",
    )
    _, actions, _ = await visitor.get("/actions")
    assert "In progress" in actions and "Marker placed" in actions
    await visitor.post(f"/actions/{ACTION}", {"status": "in_progress", "note": "Marker placed"})
    assert len(received) == 2 and "already sent" in (await visitor.get("/actions"))[1]


async def test_cli_serves_the_link_and_stops_on_a_signal(agency, tmp_path) -> None:  # type: ignore[no-untyped-def]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from agency_client.cli import console; console()",
        "ui",
        "--dir",
        str(agency.data.path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        link = re.search(r"http://127\.0\.0\.1:\d+/open\?token=\S+", line)
        assert link, line
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
            http.get(link.group(0), allow_redirects=False) as resp,
        ):
            assert resp.status == 303
        async with (  # another browser: the link is spent
            aiohttp.ClientSession() as other,
            other.get(link.group(0), allow_redirects=False) as resp,
        ):
            assert resp.status == 403
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    for argv, text in (
        (["ui", "--dir", str(agency.data.path), "--idle-minutes", "0"], "--idle-minutes"),
        (["ui", "--dir", str(tmp_path / "nowhere")], "not enrolled"),
    ):
        done = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from agency_client.cli import console; console()",
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ},
        )
        out, err = await done.communicate()
        assert done.returncode == 1 and out == b"", err
        assert err.decode().count("\n") == 1 and text in err.decode()
