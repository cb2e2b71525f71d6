"""Who may run the DPO's use-cases (log queries, subject access, retention, the SafeLives
return) through each door, generated from the use-case table; every refusal leaves the
log as it was."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dpokit import STAFF, VICTIM, DoorsHub, WebClient, doors_hub, referral

import hub.app.log
import hub.app.retention
from hub.app.catalogue import USE_CASES, roles_of
from hub.cli import main

CALLERS = ("anonymous", "bad", *STAFF)


@pytest.fixture(scope="module")
def doors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with doors_hub(tmp_path_factory.mktemp("rules"), "sqlite") as hub:
        yield hub


def test_the_dpo_side_use_cases_and_their_roles() -> None:
    readers = ("admin", "dpo")
    expected = {
        "log.head": ("admin", "coordinator", "dpo"),
        "log.search": readers,
        "log.entry": readers,
        "log.consistency": readers,
        "log.export": readers,
        "log.verify": readers,
        "log.integrity": readers,
        "log.reviews": readers,
        "log.charts": readers,
        "log.subject": readers,
        "retention.list": readers,
        "retention.due": readers,
        "retention.run": ("admin",),
        "report.safelives": ("admin", "coordinator", "dpo"),
    }
    assert {name: USE_CASES[name].roles for name in expected} == expected
    assert readers == hub.app.log.LOG_READERS


def _api_routes(doors: DoorsHub, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, str]]:
    assert doors.cli(capsys, "log", "head")[0] == 0  # a head covering every entry
    status, head = doors.api("GET", "/api/v1/log/head", "ada")
    assert status == 200 and head["size"] >= 1
    return [
        ("GET", "/api/v1/log/head", "log.head"),
        ("GET", "/api/v1/log/entries?kind=access", "log.search"),
        ("GET", "/api/v1/log/inclusion?index=0", "log.entry"),
        ("GET", f"/api/v1/log/consistency?from=1&to={head['size']}", "log.consistency"),
        ("GET", "/api/v1/log/export?format=csv", "log.export"),
        ("POST", "/api/v1/log/verify", "log.verify"),
    ]


# the reads that are themselves logged, as an access entry naming who made them
LOGGED = ("log.subject", "log.export")


def test_who_may_query_the_log_through_the_api(
    doors: DoorsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    for method, path, name in _api_routes(doors, capsys):
        roles = roles_of(name)
        for caller in CALLERS:
            before = doors.size()
            status, doc = doors.api(method, path, None if caller == "anonymous" else caller)
            if caller in ("anonymous", "bad"):
                assert status == 401 and doc["type"].endswith("/unauthorized"), (path, caller)
            elif STAFF[caller] in roles:
                assert status == 200, (path, caller, doc)
            else:
                assert status == 403 and doc["type"].endswith("/forbidden"), (path, caller)
            if status == 200 and name in LOGGED:  # an export is itself logged, by its actor
                [(_, made)] = doors.entries(before)
                assert made.actor == f"{STAFF[caller]}:{caller}" and made.door == "api"
                continue
            assert doors.size() == before, (path, caller)


WEB_PAGES = (
    ("GET", "/log", "log.search"),
    ("GET", "/log/entries/0", "log.entry"),
    ("GET", "/log/reviews", "log.reviews"),
    ("GET", "/log/charts", "log.charts"),
    ("GET", "/log/integrity", "log.integrity"),
    ("GET", "/log/subject", "log.subject"),
    ("POST", "/log/subject", "log.subject"),
    ("POST", "/log/subject.csv", "log.subject"),
    ("POST", "/log/integrity/verify", "log.verify"),
    ("GET", "/retention", "retention.list"),
)


def test_who_may_use_the_dpo_pages(doors: DoorsHub) -> None:
    form = {"name": VICTIM[0], "date_of_birth": VICTIM[1]}
    anonymous = WebClient(doors.thread)
    for method, path, _ in WEB_PAGES:
        before = doors.size()
        status, _, resp = anonymous.request(method, path, form)
        assert status in (303, 403), (method, path)
        if status == 303:
            assert resp.headers["Location"].startswith("/login"), path
        assert doors.size() == before
    anonymous.close()
    for who in STAFF:
        web = doors.web(who)
        for method, path, name in WEB_PAGES:
            before = doors.size()
            if method == "GET":
                status, body, _ = web.get(path)
            else:
                status, body, _ = web.post(path, form)
            allowed = STAFF[who] in roles_of(name)
            if not allowed:
                assert status == 403, (who, path)
                assert doors.size() == before, (who, path)
            else:
                assert status in (200, 303), (who, path, body[:300])
                if path.startswith("/log/subject") and method == "POST":
                    [(_, made)] = doors.entries(before)
                    assert made.actor == f"{STAFF[who]}:{who}" and made.door == "web"
                else:
                    assert doors.size() == before, (who, path)
        web.close()


def test_the_dpos_navigation_offers_only_what_the_dpo_may_use(doors: DoorsHub) -> None:
    casey = doors.web("casey")
    _, body, _ = casey.get("/dashboard")
    assert 'href="/log"' not in body and 'href="/retention"' not in body
    casey.close()
    dana = doors.web("dana")
    _, body, _ = dana.get("/log")
    for path in ("/log", "/log/integrity", "/log/charts", "/log/subject", "/retention"):
        assert f'href="{path}"' in body
    dana.close()


CLI_COMMANDS = (
    (("log", "head"), "log.head"),
    (("log", "verify"), "log.verify"),
    (("log", "proof", "--index", "0"), "log.entry"),
    (("log", "proof", "--consistency", "1", "2"), "log.consistency"),
    (("log", "search", "--kind", "access"), "log.search"),
    (("log", "export", "--format", "jsonl"), "log.export"),
    (("log", "subject", "--name", VICTIM[0], "--dob", VICTIM[1]), "log.subject"),
)


def test_who_may_query_the_log_through_the_cli(
    doors: DoorsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert doors.cli(capsys, "log", "head")[0] == 0  # a head of at least 2 entries
    for argv, name in CLI_COMMANDS:
        for who in (*STAFF, "nobody"):
            before = doors.size()
            status, out, err = doors.cli(capsys, *argv, "--by", who)
            if who == "nobody":
                assert status == 1 and "unauthorized" in err, (argv, err)
            elif STAFF[who] not in roles_of(name):
                assert status == 1 and "forbidden" in err and not out, (argv, who, err)
            else:
                assert status == 0, (argv, who, err)
                if name in LOGGED:
                    [(_, made)] = doors.entries(before)
                    assert made.actor == f"{STAFF[who]}:{who}" and made.door == "cli"
                    continue
            assert doors.size() == before, (argv, who)
    status, out, _ = doors.cli(capsys, "log", "subject", "--name", VICTIM[0], "--dob", VICTIM[1])
    assert status == 0 and doors.entries(doors.size() - 1)[0][1].actor == "admin:cli"


# --- retention and the SafeLives return, on a data directory of their own -------------


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    monkeypatch.delenv("MARAC_HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARAC_HUB_KEY_PASSPHRASE", raising=False)
    path = tmp_path / "data"
    assert main(["--data-dir", str(path), "init"]) == 0
    return path


def _run(data: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["--data-dir", str(data), *argv])
    out, err = capsys.readouterr()
    return status, out, err


def _log_size(data: Path, capsys: pytest.CaptureFixture[str]) -> int:
    status, out, _ = _run(data, capsys, "log", "head")
    assert status == 0
    size: int = json.loads(out)["size"]
    return size


def test_retention_and_the_safelives_return_by_role(
    data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name, role in STAFF.items():
        assert _run(data, capsys, "user", "add", name, "--role", role)[0] == 0
    invite = ["agency", "invite", "police-north", "--name", "Police", "--kind", "police"]
    invite += ["--isp-version", "1", "--isp-signed-by", "DMO", "--isp-signed-on", "2026-01-01"]
    invite += ["--area", "north", "--area", "south"]  # it refers in both
    assert _run(data, capsys, "isp", "publish", "1", "--title", "ISP")[0] == 0  # invite needs it
    for area in ("north", "south"):
        assert _run(data, capsys, "area", "add", area, "--name", f"{area} MARAC")[0] == 0
    assert _run(data, capsys, *invite)[0] == 0
    assert _run(data, capsys, "area", "set", "south", "--retention-years", "2")[0] == 0
    assert _run(data, capsys, "area", "add-user", "north", "casey")[0] == 0
    assert _run(data, capsys, "area", "add-user", "south", "sam")[0] == 0
    today = datetime.now(UTC).date()
    file = tmp_path / "referral.json"
    file.write_text(json.dumps(referral(referred_on=(today - timedelta(days=3)).isoformat())))
    refs = {}
    for area, who in (("north", "casey"), ("south", "sam")):
        status, out, err = _run(
            data, capsys, "case", "refer", "--area", area, "--file", str(file), "--by", who
        )
        assert status == 0, err
        refs[area] = out.split()[0]

    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    safelives = ("report", "safelives", "--quarter", quarter)
    status, _, err = _run(data, capsys, *safelives, "--by", "casey")
    assert status == 1 and "missing-field" in err
    status, _, err = _run(data, capsys, *safelives, "--area", "south", "--by", "casey")
    assert status == 1 and "forbidden" in err
    status, out, _ = _run(data, capsys, *safelives, "--area", "north", "--by", "casey")
    assert status == 0 and f"north,{quarter},cases,total,1" in out and "south," not in out
    for who in ("dana", "ada"):
        status, out, _ = _run(data, capsys, *safelives, "--by", who)
        assert status == 0 and "north," in out and "south," in out

    soon = (today + timedelta(days=3 * 366)).isoformat()
    later = (today + timedelta(days=7 * 366)).isoformat()
    before = _log_size(data, capsys)
    for who in ("dana", "casey", "sam"):
        status, _, err = _run(data, capsys, "retention", "run", "--now", soon, "--by", who)
        assert status == 1 and "forbidden" in err, (who, err)
    status, out, _ = _run(
        data, capsys, "retention", "run", "--dry-run", "--now", soon, "--by", "dana"
    )
    assert status == 0 and f"would destroy 1 case(s): {refs['south']}" in out
    status, _, err = _run(
        data, capsys, "retention", "run", "--dry-run", "--now", soon, "--by", "sam"
    )
    assert status == 1 and "forbidden" in err
    assert _log_size(data, capsys) == before
    status, out, _ = _run(data, capsys, "retention", "run", "--now", soon)
    assert status == 0 and f"destroyed 1 case(s): {refs['south']}" in out
    status, out, _ = _run(data, capsys, "retention", "run", "--now", later, "--actor", "ada")
    assert status == 0 and f"destroyed 1 case(s): {refs['north']}" in out
    status, out, _ = _run(data, capsys, "log", "search", "--kind", "retention", "--by", "dana")
    lines = out.splitlines()
    assert len(lines) == 2
    assert refs["south"] in lines[0] and "by admin:cli" in lines[0]
    assert refs["north"] in lines[1] and "by admin:ada" in lines[1]
    status, out, _ = _run(data, capsys, "log", "search", "--actor", "admin:ada")
    assert [re.search(r"cases (\S+)", line)[1] for line in out.splitlines()] == [  # type: ignore[index]
        refs["north"]
    ]
