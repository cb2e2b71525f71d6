"""Evidence bundles: ``marac-hub log evidence`` (and the web UI's and the API's download)
makes one file that ``agency-client log verify-evidence`` checks offline.

One real hub serves the module's fixture: two enrolled agency clients, a case extract and
notices sent through the API (real disclosures, logged), and a checkpoint both agencies
witnessed (``agency-client witness``: C2SP cosignatures). Everything that needs the hub
happens there, once, through its doors: the bundle made with the CLI as the DPO, the
download through the web UI (an HTTP session signed in as the DPO) and the API, and the
same asked for by a coordinator, an agency and anonymous callers. Then the hub stops and
its data directory is deleted, so every verification below runs with no hub and no
database: the agency client is run as a subprocess given only the file.

Each tampered bundle is named after the attack; the bytes are re-encoded in canonical
form so that each attack meets the check it is aimed at, not only the hub's signature.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agency_client.cli import main as client_main
from hub.cases.areas import add_user
from hub.cli import main as hub_main
from hub.crypto import merkle
from hub.crypto.checkpoint import Checkpoint, Cosigner, sign_checkpoint, witness_name
from hub.crypto.evidence import MAX_BUNDLE_BYTES, ProvenEntry, make_bundle
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.request_signing import sign_request
from hub.crypto.signed_note import Note, NoteSignature, NoteSigner, parse_note
from hub.log.entries import EntryKey, LogEntry, entry_bytes
from hub.protocol.canonical import b64decode, b64encode, canonical_json
from hub.service.appkeys import ENGINE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from webkit import HubThread, WebClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agency_client"))
from agency_helpers import PASS

CLIENT = Path(sys.executable).with_name("agency-client")
VICTIM = "Nora Seed"  # the seeded north case's victim (tests/web/webkit.py)
PASSPHRASES = {"MARAC_HUB_KEY_PASSPHRASE": "marac-hub-testing", "AGENCY_CLIENT_PASSPHRASE": PASS}


@dataclass
class Made:
    """What the served hub gave, through each door, before it stopped."""

    fingerprint: str = ""
    witnesses: dict[str, str] = field(default_factory=dict)  # agency: key fingerprint
    entries: list[int] = field(default_factory=list)  # the bundled entries' indices
    envelope: str = ""  # the notice's envelope id, asked for by id
    cli: bytes = b""
    cli_out: str = ""
    web: bytes = b""
    web_headers: dict[str, str] = field(default_factory=dict)
    api: bytes = b""
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    logged: list[dict[str, Any]] = field(default_factory=list)  # entries after the fill
    size_after_refusals: tuple[int, int] = (0, 0)
    hostile: dict[str, tuple[int, str, str]] = field(default_factory=dict)


HOSTILE_BODIES: dict[str, Any] = {
    "not an object": ["1"],
    "no entries": {"entries": []},
    "an unknown member": {"entries": ["1"], "more": 1},
    "1001 entries": {"entries": [str(i) for i in range(1001)]},
    "a bad id": {"entries": ["../1"]},
    "a 65-character id": {"entries": ["A" * 65]},
    "a 16-digit index": {"entries": ["1" * 16]},
    "no such entry": {"entries": ["999999"]},
    "no such envelope": {"entries": ["01J0000000000000000000NONE"]},
}
HOSTILE_ARGV: dict[str, tuple[str, ...]] = {
    "no such entry": ("999999",),
    "a bad id": ("a b",),
    "an unwritable file": ("1", "--out", "/nonexistent/directory/evidence.json"),
}


def _api(
    hub: HubThread, method: str, path: str, token: str | None, body: Any
) -> tuple[int, bytes, dict[str, str]]:
    async def go() -> tuple[int, bytes, dict[str, str]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with hub.http.request(method, hub.url + path, json=body, headers=headers) as resp:
            return resp.status, await resp.read(), dict(resp.headers)

    return hub.run(go())


def _agency_post(hub: HubThread, identity: IdentityKeyPair, path: str, body: bytes) -> int:
    """A correctly signed request from the active agency police-north."""
    headers = sign_request(identity, "police-north", "POST", path, "", body, now=datetime.now(UTC))

    async def go() -> int:
        async with hub.http.post(hub.url + path, data=body, headers=dict(headers)) as resp:
            return resp.status

    return hub.run(go())


def _log(hub: HubThread, token: str) -> list[dict[str, Any]]:
    status, body, _ = _api(hub, "GET", "/api/v1/log/entries?limit=1000", token, None)
    assert status == 200, body
    return [{"index": e["index"], **e["entry"]} for e in json.loads(body)["entries"]]


def _cli(data: Path, *argv: str) -> tuple[int, str, str]:
    """``marac-hub --data-dir DATA log ARGV`` in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = hub_main(["--data-dir", str(data), "log", *argv])
    return status, out.getvalue(), err.getvalue()


async def _add_to_area(hub: HubThread, name: str) -> None:
    async with hub.hub.app[ENGINE].begin() as conn:
        await add_user(conn, "north", name)


def _download(client: WebClient, path: str) -> tuple[int, bytes, dict[str, str]]:
    """POST the page's form (with the session's CSRF token); the raw answer."""

    async def go() -> tuple[int, bytes, dict[str, str]]:
        async with client.session.post(
            client.hub.url + path, data={"csrf": client.csrf}, allow_redirects=False
        ) as resp:
            return resp.status, await resp.read(), dict(resp.headers)

    return client.hub.run(go())


def _fill(hub: HubThread, tokens: dict[str, str], made: Made) -> None:
    """Real disclosures: a case extract to police-north and a notice to both agencies."""
    ref = hub.seeded.north_ref
    path = f"/api/v1/cases/{ref}/extracts"
    status, body, _ = _api(hub, "POST", path, tokens["coordinator"], {"agency_id": "police-north"})
    assert status == 202 and json.loads(body)["status"] == "sent", body
    status, body, _ = _api(
        hub, "POST", "/api/v1/notices", tokens["coordinator"], {"to": "all", "text": "Agenda."}
    )
    assert status == 202, body
    made.envelope = json.loads(body)["envelopes"][0]["id"]
    found = _log(hub, tokens["dpo"])
    extract = next(e["index"] for e in found if e.get("case_refs") == [ref])
    notice = next(e["index"] for e in found if e.get("envelope_id") == made.envelope)
    made.entries = sorted({extract, notice})


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    """Everything the hub gives, through each door; then the hub stops and its data
    directory is deleted."""
    root = tmp_path_factory.mktemp("evidence")
    hub = HubThread(root, mfa_required_roles=())  # password sign-in (second factors: elsewhere)
    made = Made()
    data = hub.hub.settings.data_dir
    stopped = False
    saved = {name: os.environ.get(name) for name in PASSPHRASES}
    os.environ.update(PASSPHRASES)  # the CLIs open the served hub's and the agencies' keys
    try:
        hub.run(hub.seed())
        tokens = {
            "dpo": hub.run(hub.hub.add_user("dina", "dpo")),
            "coordinator": hub.run(hub.hub.add_user("cora", "coordinator")),
        }
        hub.run(_add_to_area(hub, "cora"))
        made.fingerprint = hub.hub.keys.identity.fingerprint
        _fill(hub, tokens, made)
        status, _, err = _cli(data, "head", "--by", "dana")  # a checkpoint over them
        assert status == 0, err
        for agency in hub.seeded.agencies.values():  # both witness it
            assert client_main(["witness", "--dir", str(agency.data.path)]) == 0
            made.witnesses[agency.id] = agency.identity.fingerprint
        index = made.entries[0]
        page = f"/log/entries/{index}/evidence"

        # The CLI as the DPO: the extract by index, the notice by envelope id.
        out = root / "bundle.json"
        argv = ("evidence", str(index), made.envelope, "--out", str(out), "--by", "dana")
        status, made.cli_out, err = _cli(data, *argv)
        assert status == 0, err
        made.cli = out.read_bytes()
        # The web UI as the DPO: the button on the entry's page.
        dpo = WebClient(hub)
        assert dpo.login("dana") == 303
        status, html, _ = dpo.get(f"/log/entries/{index}")
        assert status == 200 and "Download evidence bundle" in html and page in html
        status, made.web, made.web_headers = _download(dpo, page)
        assert status == 200, made.web
        # The API as a DPO.
        body = {"entries": [str(index)]}
        status, made.api, _ = _api(hub, "POST", "/api/v1/log/evidence", tokens["dpo"], body)
        assert status == 200, made.api

        # Refused: a coordinator, an agency, anonymous, through each door.
        before = len(_log(hub, tokens["dpo"]))
        coordinator = WebClient(hub)
        assert coordinator.login("casey") == 303
        status, answer, _ = _download(coordinator, page)
        made.refused["web coordinator"] = (status, answer.decode())
        anonymous = WebClient(hub)
        status, _, headers = _download(anonymous, page)
        made.refused["web anonymous"] = (status, headers.get("Location", ""))
        for who, token in (("coordinator", tokens["coordinator"]), ("anonymous", None)):
            status, answer, _ = _api(hub, "POST", "/api/v1/log/evidence", token, body)
            made.refused[f"api {who}"] = (status, answer.decode())
        identity = hub.seeded.agencies["police-north"].identity
        status = _agency_post(hub, identity, "/api/v1/log/evidence", json.dumps(body).encode())
        made.refused["api agency"] = (status, "")
        status, _, err = _cli(data, "evidence", str(index), "--by", "casey")
        made.refused["cli coordinator"] = (status, err)
        # Hostile requests from the DPO: refused in one problem or line, nothing logged.
        for name, body_sent in HOSTILE_BODIES.items():
            status, answer, headers = _api(
                hub, "POST", "/api/v1/log/evidence", tokens["dpo"], body_sent
            )
            made.hostile[f"api {name}"] = (status, answer.decode(), headers["Content-Type"])
        for name, argv in HOSTILE_ARGV.items():
            status, out_text, err = _cli(data, "evidence", *argv, "--by", "dana")
            made.hostile[f"cli {name}"] = (status, err, out_text)
        made.logged = _log(hub, tokens["dpo"])
        made.size_after_refusals = (before, len(made.logged))
        for client in (dpo, coordinator, anonymous):
            client.close()
        hub.stop()
        stopped = True
        shutil.rmtree(data)  # no database, no keys: only the bundles remain
        yield made
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if not stopped:
            hub.stop()


# -- verifying ------------------------------------------------------------------------------


# The agency's install (``pip install marac-hub``) has none of the server's libraries: the
# process below cannot import them, as if they were not installed.
AGENCY_INSTALL_ONLY = """
import importlib.abc, sys
SERVER = {"sqlalchemy", "alembic", "aiosqlite", "asyncpg", "pydantic_settings", "tqdm",
          "aiohttp_jinja2", "fhir", "jsonschema", "prometheus_client", "pythonjsonlogger"}
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVER:
            raise ModuleNotFoundError(f"No module named {name!r} (agency install)")
sys.meta_path.insert(0, NotInstalled())
sys.argv[0] = "agency-client"
from agency_client.cli import console
console()
"""


def offline(
    folder: Path, data: bytes, *args: str, agency_install: bool = False
) -> subprocess.CompletedProcess[str]:
    """``agency-client log verify-evidence`` as an investigator runs it: a process given
    only the file (in an otherwise empty directory and home), nothing else;
    ``agency_install``: without the server's libraries importable."""
    folder.mkdir()
    (folder / "bundle.json").write_bytes(data)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder), "LC_ALL": "C.UTF-8"}
    command = [sys.executable, "-c", AGENCY_INSTALL_ONLY] if agency_install else [str(CLIENT)]
    return subprocess.run(
        [*command, "log", "verify-evidence", "bundle.json", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, *args: str
) -> tuple[int, str, str]:
    """The same command, in this process (the tampering tests: many runs, quickly)."""
    path = tmp_path / "bundle.json"
    path.write_bytes(data)
    capsys.readouterr()
    status = client_main(["log", "verify-evidence", str(path), *args])
    out, err = capsys.readouterr()
    return status, out, err


def refused(status: int, err: str, reason: str) -> None:
    """Exit 1 with one line naming ``reason``, and no traceback."""
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agency-client: "), err
    assert reason in lines[0], lines[0]
    assert "Traceback" not in err


def tampered(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The bundle changed by ``change``, re-encoded in canonical form."""
    doc = json.loads(data)
    change(doc)
    return canonical_json(doc)


def test_a_bundle_made_with_the_cli_verifies_offline_with_only_the_agency_client(
    made: Made, tmp_path: Path
) -> None:
    done = offline(
        tmp_path / "investigator", made.cli, "--hub-key", made.fingerprint, agency_install=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(made.fingerprint in line and "(matches --hub-key)" in line for line in lines)
    for index in made.entries:
        line = next(line for line in lines if line.startswith(f"entry {index}  "))
        assert "disclosure" in line and "-- included (proof of" in line
    assert any(f"envelope {made.envelope}" in line for line in lines)
    assert lines[-1].startswith("OK: all 2 entries are in the hub's log")
    assert done.stderr == ""


def test_the_cli_says_what_it_wrote_and_what_the_investigator_checks(made: Made) -> None:
    assert "2 entries proved against the checkpoint of size" in made.cli_out
    assert "the export is logged as entry" in made.cli_out
    assert "agency-client log verify-evidence" in made.cli_out and "--hub-key" in made.cli_out


def test_without_a_pinned_hub_key_the_output_says_to_check_its_fingerprint(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = verify(tmp_path, capsys, made.cli)
    assert status == 0
    line = next(line for line in out.splitlines() if made.fingerprint in line)
    assert "NOT PINNED" in line and "--hub-key" in line


def test_the_web_download_as_the_dpo_is_a_bundle_that_verifies(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert made.web_headers["Content-Type"].startswith("application/json")
    disposition = made.web_headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="evidence-') and ".json" in disposition
    status, out, err = verify(tmp_path, capsys, made.web, "--hub-key", made.fingerprint)
    assert status == 0, err
    assert f"entry {made.entries[0]}  disclosure" in out


def test_the_api_bundle_verifies(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = verify(tmp_path, capsys, made.api, "--hub-key", made.fingerprint)
    assert status == 0, err
    assert "OK: the entry is in the hub's log" in out


def test_each_export_is_logged_as_an_access_entry_naming_the_entries_and_their_cases(
    made: Made,
) -> None:
    exports = [e for e in made.logged if e.get("purpose") == "evidence-bundle"]
    assert [(e["kind"], e["actor"], e["door"]) for e in exports] == [
        ("access", "dpo:dana", "cli"),
        ("access", "dpo:dana", "web"),
        ("access", "dpo:dina", "api"),
    ]
    assert exports[0]["fields"] == [f"entry:{i}" for i in made.entries]
    extract = next(e for e in made.logged if e["index"] == made.entries[0])
    assert exports[0]["case_refs"] == extract["case_refs"]
    for logged, data in zip(exports, (made.cli, made.web, made.api), strict=True):
        assert json.loads(data)["manifest"]["logged_as"] == logged["index"]


def test_a_coordinator_an_agency_and_anonymous_callers_are_refused_at_every_door(
    made: Made,
) -> None:
    status, body = made.refused["web coordinator"]
    assert status == 403 and "Not allowed" in body
    status, location = made.refused["web anonymous"]
    assert status in (303, 403) and (status == 403 or location.startswith("/login"))
    status, body = made.refused["api coordinator"]
    assert status == 403 and json.loads(body)["type"].endswith("/forbidden")
    status, body = made.refused["api anonymous"]
    assert status == 401 and json.loads(body)["type"].endswith("/unauthorized")
    assert made.refused["api agency"][0] == 401
    status, err = made.refused["cli coordinator"]
    assert status == 1 and "forbidden" in err
    before, after = made.size_after_refusals
    assert before == after  # a refusal logs nothing and makes nothing


def test_hostile_requests_are_refused_in_one_problem_or_line_and_log_nothing(
    made: Made,
) -> None:
    for name in HOSTILE_BODIES:
        status, body, media = made.hostile[f"api {name}"]
        expected = 404 if name.startswith("no such") else 400
        assert status == expected, (name, body)
        assert media.startswith("application/problem+json"), (name, media)
    for name in HOSTILE_ARGV:
        status, err, out = made.hostile[f"cli {name}"]
        assert status == 1 and out == "", (name, out)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (name, err)
    assert "cannot write /nonexistent/directory" in made.hostile["cli an unwritable file"][1]
    # Nothing was logged for them: only the three bundles made (CLI, web, API).
    exports = [e for e in made.logged if e.get("purpose") == "evidence-bundle"]
    assert len(exports) == 3


def test_a_bundle_holds_no_personal_data_beyond_the_entries(made: Made) -> None:
    for data in (made.cli, made.web, made.api):
        assert VICTIM.encode() not in data
        doc = json.loads(data)
        assert "actor" not in json.dumps(doc["manifest"])  # who asked: in the logged entry
        for item in doc["entries"]:
            entry = json.loads(item["entry"])
            assert set(entry) <= set(LogEntry.model_fields)


# -- tampering ------------------------------------------------------------------------------


def test_an_entrys_bytes_changed_are_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["entries"][0]["entry"] = doc["entries"][0]["entry"].replace(
            '"recipient":"police-north"', '"recipient":"police-nortx"'
        )

    forged = tampered(made.cli, change)
    assert forged != made.cli
    refused(*verify(tmp_path, capsys, forged)[::2], "inclusion proof does not lead to")


def test_an_entry_re_encoded_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["entries"][0]["entry"] = doc["entries"][0]["entry"].replace(",", ", ", 1)

    refused(*verify(tmp_path, capsys, tampered(made.cli, change))[::2], "canonical form")


def test_a_proof_node_changed_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        proof = doc["entries"][1]["proof"]
        proof[0] = b64encode(bytes(32 - i for i in range(32)))

    forged = tampered(made.cli, change)
    reason = f"entry {made.entries[1]}'s inclusion proof does not lead to"
    refused(*verify(tmp_path, capsys, forged)[::2], reason)


def test_an_entry_from_another_log_spliced_in_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A genuine entry and proof of another log (its own tree), at the same index."""
    doc = json.loads(made.cli)
    index = made.entries[0]
    theirs = [
        entry_bytes(LogEntry(kind="refusal", at=datetime.now(UTC), actor=f"hub:{n}"))
        for n in range(doc["manifest"]["checkpoint_size"])
    ]

    def change(doc: dict[str, Any]) -> None:
        doc["entries"][0] = {
            "index": index,
            "entry": theirs[index].decode(),
            "proof": [b64encode(h) for h in merkle.inclusion_proof(theirs, index)],
        }

    refused(*verify(tmp_path, capsys, tampered(made.cli, change))[::2], "another log")


def test_the_manifests_checkpoint_size_changed_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["manifest"]["checkpoint_size"] += 1

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "the manifest says the checkpoint has")


def test_an_entrys_index_changed_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["entries"][0]["index"] -= 1
        doc["manifest"]["entries"][0] -= 1

    refused(*verify(tmp_path, capsys, tampered(made.cli, change))[::2], "inclusion proof")


def test_the_manifests_entry_list_changed_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["manifest"]["entries"] = doc["manifest"]["entries"][:1]

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "the manifest lists other entries")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda doc: doc["manifest"].update(created="2020-01-01T00:00:00Z"), id="time"),
        pytest.param(lambda doc: doc["manifest"].update(requested=["1"]), id="request"),
        pytest.param(lambda doc: doc["manifest"].update(logged_as=1), id="logged-as"),
        pytest.param(lambda doc: doc["entries"].pop(), id="entry-dropped"),
    ],
)
def test_a_manifest_or_entry_list_changed_consistently_breaks_the_hubs_signature(
    made: Made,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, Any]], None],
) -> None:
    def consistent(doc: dict[str, Any]) -> None:
        change(doc)
        doc["manifest"]["entries"] = [e["index"] for e in doc["entries"]]

    forged = tampered(made.cli, consistent)
    refused(*verify(tmp_path, capsys, forged)[::2], "the hub's signature over the bundle")


def with_note(doc: dict[str, Any], change: Callable[[list[NoteSignature]], None]) -> None:
    """Change the checkpoint note's signature lines in place."""
    note = parse_note(doc["checkpoint"])
    lines = list(note.signatures)
    change(lines)
    doc["checkpoint"] = Note(note.text, tuple(lines)).encode().decode()


def flipped(sig: NoteSignature) -> NoteSignature:
    """The same line with its signature's last byte changed."""
    return NoteSignature(sig.name, sig.key_id, sig.signature[:-1] + bytes([sig.signature[-1] ^ 1]))


def test_the_checkpoint_re_signed_by_another_key_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forger = IdentityKeyPair.generate()

    def change(doc: dict[str, Any]) -> None:
        text = parse_note(doc["checkpoint"]).text
        origin = text.split("\n", 1)[0]
        with_note(doc, lambda lines: lines.__setitem__(0, NoteSigner(origin, forger).sign(text)))

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "does not verify with the hub's key")


def test_the_checkpoints_hub_signature_altered_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        with_note(doc, lambda lines: lines.__setitem__(0, flipped(lines[0])))

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "does not verify with the hub's key")


def test_a_checkpoint_of_another_size_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text changed (its size), so every signature on it no longer covers it."""

    def change(doc: dict[str, Any]) -> None:
        note = parse_note(doc["checkpoint"])
        origin, size, rest = note.text.split("\n", 2)
        text = f"{origin}\n{int(size) + 1}\n{rest}"
        doc["checkpoint"] = Note(text, note.signatures).encode().decode()
        doc["manifest"]["checkpoint_size"] = int(size) + 1

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "does not verify with the hub's key")


def test_both_witnesses_cosigned_and_pinning_them_passes(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = [arg for fp in made.witnesses.values() for arg in ("--witness-key", fp)]
    status, out, err = verify(tmp_path, capsys, made.cli, "--hub-key", made.fingerprint, *pins)
    assert status == 0, err
    assert "witnesses: 2 cosigned the checkpoint" in out
    for agency, fp in made.witnesses.items():
        line = next(line for line in out.splitlines() if line.startswith(f"  {agency}: "))
        assert fp in line and "(matches --witness-key)" in line and "registered in the log" in line


def test_a_cosignature_removed_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        with_note(doc, lambda lines: lines.pop())

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "cosignature is missing from the checkpoint")


def test_a_forged_cosignature_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        with_note(doc, lambda lines: lines.__setitem__(-1, flipped(lines[-1])))

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "cosignature does not verify")


def test_a_witness_removed_with_its_cosignature_breaks_the_hubs_signature_or_a_pin(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        gone = doc["witnesses"].pop()
        with_note(doc, lambda lines: lines.remove(next(x for x in lines if x.name == gone["name"])))

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "the hub's signature over the bundle")
    pins = [arg for fp in made.witnesses.values() for arg in ("--witness-key", fp)]
    refused(*verify(tmp_path, capsys, forged, *pins)[::2], "did not cosign this checkpoint")


def test_a_witness_made_up_by_a_forger_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A forger's key cosigns correctly, but no entry of the log registered it."""
    forger = IdentityKeyPair.generate()

    def change(doc: dict[str, Any]) -> None:
        note = parse_note(doc["checkpoint"])
        checkpoint = Checkpoint.parse(note.text)
        name = witness_name("police-nowhere", checkpoint.origin)
        cosigner = Cosigner(name, forger)
        registered = LogEntry(
            kind="key_registered",
            at=datetime.now(UTC),
            actor="agency:police-nowhere",
            agency="police-nowhere",
            key=EntryKey(role="identity", fingerprint=forger.fingerprint, suite="ed25519"),
        )
        doc["witnesses"].append(
            {
                "agency": "police-nowhere",
                "name": name,
                "key": b64encode(forger.public.raw),
                "fingerprint": forger.fingerprint,
                "vkey": cosigner.verifier.vkey(),
                "registered": {
                    "index": 0,
                    "entry": entry_bytes(registered).decode(),
                    "proof": doc["witnesses"][0]["registered"]["proof"],
                },
            }
        )
        line = cosigner.cosign(checkpoint, int(datetime.now(UTC).timestamp()))
        doc["checkpoint"] = note.with_signatures([line]).encode().decode()

    forged = tampered(made.cli, change)
    refused(
        *verify(tmp_path, capsys, forged)[::2],
        "witness police-nowhere's key directory entry's inclusion proof does not lead to",
    )


def test_a_signature_by_a_key_the_bundle_does_not_name_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        note = parse_note(doc["checkpoint"])
        checkpoint = Checkpoint.parse(note.text)
        stranger = Cosigner("stranger.witness", IdentityKeyPair.generate())
        line = stranger.cosign(checkpoint, int(datetime.now(UTC).timestamp()))
        doc["checkpoint"] = note.with_signatures([line]).encode().decode()

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "a key the bundle does not name")


def test_a_pinned_witness_that_did_not_cosign_is_refused(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = IdentityKeyPair.generate().fingerprint
    refused(
        *verify(tmp_path, capsys, made.cli, "--witness-key", absent)[::2],
        f"the pinned witness {absent} did not cosign",
    )


def test_a_forgers_bundle_under_another_hub_key_is_refused_when_a_key_is_pinned(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything re-made under a forger's key is self-consistent: only the fingerprint,
    checked out of band and pinned (the hub's, or a witness's), tells it from the hub's."""
    forged = forge_under_another_key(made.cli)
    status, out, _ = verify(tmp_path, capsys, forged)
    assert status == 0 and made.fingerprint not in out and "NOT PINNED" in out
    assert "witnesses: none cosigned" in out
    refused(
        *verify(tmp_path, capsys, forged, "--hub-key", made.fingerprint)[::2],
        f"not the pinned {made.fingerprint}",
    )
    police = made.witnesses["police-north"]
    refused(
        *verify(tmp_path, capsys, forged, "--witness-key", police)[::2],
        f"the pinned witness {police} did not cosign",
    )


def forge_under_another_key(data: bytes) -> bytes:
    """The bundle with its checkpoint, directory entry and signature made by a forger (no
    witness would cosign the forger's checkpoint: it has none)."""
    doc = json.loads(data)
    forger = IdentityKeyPair.generate()
    checkpoint = Checkpoint.parse(parse_note(doc["checkpoint"]).text)
    entries = [
        ProvenEntry(e["index"], e["entry"].encode(), [b64decode(h) for h in e["proof"]])
        for e in doc["entries"]
    ]
    manifest = doc["manifest"]
    return make_bundle(
        identity=forger,
        hub_id=manifest["hub"]["id"],
        directory={
            "hub_id": manifest["hub"]["id"],
            "identity_key": b64encode(forger.public.raw),
            "fingerprint": forger.fingerprint,
        },
        checkpoint=sign_checkpoint(forger, checkpoint).encode().decode(),
        checkpoint_size=checkpoint.size,
        entries=entries,
        witnesses=(),
        requested=manifest["requested"],
        logged_as=manifest["logged_as"],
        created=datetime.now(UTC),
    )


def test_a_hub_key_that_does_not_match_its_fingerprint_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["hub_key"]["key"] = b64encode(IdentityKeyPair.generate().public.raw)

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "key does not match its fingerprint")


def test_a_hub_key_directory_entry_for_another_key_is_caught(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = IdentityKeyPair.generate()

    def change(doc: dict[str, Any]) -> None:
        doc["hub_key"]["directory"]["identity_key"] = b64encode(other.public.raw)
        doc["hub_key"]["directory"]["fingerprint"] = other.fingerprint

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "does not match its key directory entry")


# -- malformed files ------------------------------------------------------------------------


def test_a_truncated_file_fails_in_one_line_in_a_real_process(made: Made, tmp_path: Path) -> None:
    done = offline(tmp_path / "investigator", made.cli[: len(made.cli) // 2])
    refused(done.returncode, done.stderr, "not a valid evidence bundle")
    assert done.stdout == ""


def test_an_oversized_file_is_refused_before_it_is_read_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as sink:
        sink.truncate(MAX_BUNDLE_BYTES + 1)
    capsys.readouterr()
    status = client_main(["log", "verify-evidence", str(path)])
    refused(status, capsys.readouterr().err, "larger than 32 MiB")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"[]", id="a-list"),
        pytest.param(b"{}", id="an-empty-object"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
        pytest.param(b'{"a":1,"a":2}', id="duplicate-keys"),
        pytest.param(b'{"manifest":NaN}', id="nan"),
    ],
)
def test_a_malformed_file_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    refused(*verify(tmp_path, capsys, data)[::2], "not a valid evidence bundle")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda doc: doc["manifest"].update(version=2), id="version"),
        pytest.param(lambda doc: doc["manifest"].update(format="zip"), id="format"),
        pytest.param(lambda doc: doc.update(extra=1), id="unknown-member"),
        pytest.param(lambda doc: doc["entries"].clear(), id="no-entries"),
        pytest.param(lambda doc: doc["entries"][0].update(index=-1), id="negative-index"),
        pytest.param(lambda doc: doc["entries"][0].update(proof=["AA"] * 65), id="long-proof"),
        pytest.param(lambda doc: doc["entries"][0].update(proof="x"), id="proof-not-a-list"),
        pytest.param(lambda doc: doc["hub_key"].update(key="!"), id="bad-base64"),
        pytest.param(lambda doc: doc.update(checkpoint="a\n7\n"), id="checkpoint-not-a-note"),
        pytest.param(lambda doc: doc.update(checkpoint={}), id="checkpoint-not-text"),
    ],
)
def test_a_bundle_of_the_wrong_shape_fails_in_one_line(
    made: Made,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, Any]], None],
) -> None:
    refused(*verify(tmp_path, capsys, tampered(made.cli, change))[::2], "not a valid evidence")


def test_a_bundle_nested_deep_enough_to_exhaust_the_stack_fails_in_one_line(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """900 levels parse, but would exhaust the stack of whatever recursed over them."""
    doc = json.loads(made.cli)
    doc["hub_key"]["directory"]["x"] = json.loads("[" * 900 + "]" * 900)
    deep = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    refused(*verify(tmp_path, capsys, deep.encode())[::2], "nests arrays and objects deeper")


def test_an_entry_nested_deep_enough_to_exhaust_the_stack_fails_in_one_line(
    made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["entries"][0]["entry"] = '{"kind":"x","v":1,"a":' + "[" * 900 + "]" * 900 + "}"

    forged = tampered(made.cli, change)
    refused(*verify(tmp_path, capsys, forged)[::2], "nests deeper than a log entry does")


def test_a_missing_file_or_a_directory_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (tmp_path / "missing.json", tmp_path):
        capsys.readouterr()
        status = client_main(["log", "verify-evidence", str(path)])
        refused(status, capsys.readouterr().err, "cannot read")


def test_a_malformed_pinned_fingerprint_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        client_main(["log", "verify-evidence", str(tmp_path), "--hub-key", "abc"])
    assert exited.value.code == 2
    assert "64 hex digits" in capsys.readouterr().err
