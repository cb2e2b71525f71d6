"""Access entries: reading a victim's case through any door leaves one ``access`` entry
(who, in which role, through which door, which case, what was read); the DPO finds them
by kind and actor through each door, and a subject access report lists every disclosure
about the person and every view of their records (and is itself logged)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from dpokit import VICTIM, DoorsHub, doors_hub

from hub.log import LogEntry


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def doors(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    with doors_hub(tmp_path_factory.mktemp("doors"), request.param) as hub:
        yield hub


def _new(doors: DoorsHub, before: int) -> list[tuple[int, LogEntry]]:
    return doors.entries(before)


def _views_of(doors: DoorsHub, refs: list[str]) -> list[int]:
    return [
        i for i, e in doors.entries() if e.kind == "access" and set(e.case_refs or ()) & set(refs)
    ]


def test_viewing_a_case_through_each_door_adds_one_access_entry(
    doors: DoorsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = doors.north[0]
    seen: dict[str, tuple[int, LogEntry]] = {}
    casey = doors.web("casey")

    before = doors.size()
    status, doc = doors.api("GET", f"/api/v1/cases/{ref}", "casey")
    assert status == 200 and doc["view"]["victim"]["name"] == VICTIM[0]
    [seen["api"]] = _new(doors, before)

    before = doors.size()
    status, body, _ = casey.get(f"/cases/{ref}")
    assert status == 200 and VICTIM[0] in body
    [seen["web"]] = _new(doors, before)

    before = doors.size()
    status, out, err = doors.cli(capsys, "case", "show", ref, "--by", "casey")
    assert status == 0 and VICTIM[0] in out, err
    [seen["cli"]] = _new(doors, before)

    for door, (index, entry) in seen.items():
        assert entry.kind == "access" and entry.door == door
        assert entry.actor == "coordinator:casey" and entry.case_refs == (ref,)
        assert entry.purpose == "view"
        raw = doors.raw(index)
        assert VICTIM[0].encode() not in raw and VICTIM[1].encode() not in raw
    # The same fields through the API and the CLI; the case page also shows (and names)
    # the case's actions.
    assert seen["api"][1].fields == seen["cli"][1].fields == ("case",)
    assert seen["web"][1].fields is not None and seen["web"][1].fields[0] == "case"
    other = {k: v for k, v in seen["api"][1].model_dump().items() if k not in ("at", "door")}
    assert other == {
        k: v for k, v in seen["cli"][1].model_dump().items() if k not in ("at", "door")
    }
    casey.close()


def test_a_refused_view_leaves_no_entry(
    doors: DoorsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = doors.north[0]
    before = doors.size()
    assert doors.api("GET", f"/api/v1/cases/{ref}", "sam")[0] == 403  # another area
    assert doors.api("GET", f"/api/v1/cases/{ref}", "dana")[0] == 403  # the DPO: no data
    assert doors.api("GET", f"/api/v1/cases/{ref}", None)[0] == 401
    assert doors.api("GET", f"/api/v1/cases/{ref}", "bad")[0] == 401
    sam = doors.web("sam")
    assert sam.get(f"/cases/{ref}")[0] == 403
    sam.close()
    status, _, err = doors.cli(capsys, "case", "show", ref, "--by", "sam")
    assert status == 1 and "forbidden" in err
    assert doors.size() == before


def test_the_dpo_finds_access_entries_by_kind_and_actor_through_each_door(
    doors: DoorsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert doors.api("GET", f"/api/v1/cases/{doors.north[1]}", "casey")[0] == 200
    assert doors.api("GET", f"/api/v1/cases/{doors.south}", "sam")[0] == 200
    expected = [
        i for i, e in doors.entries() if e.kind == "access" and e.actor == "coordinator:casey"
    ]
    assert len(expected) >= 2

    status, doc = doors.api(
        "GET", "/api/v1/log/entries?kind=access&actor=coordinator:casey&limit=1000", "dana"
    )
    assert status == 200, doc
    assert [x["index"] for x in doc["entries"]] == expected
    assert {x["entry"]["actor"] for x in doc["entries"]} == {"coordinator:casey"}

    status, out, err = doors.cli(
        capsys, "log", "search", "--kind", "access", "--actor", "coordinator:casey", "--by", "dana"
    )
    assert status == 0, err
    assert [int(line.split()[0]) for line in out.splitlines()] == expected
    assert all("by coordinator:casey" in line and "access" in line for line in out.splitlines())

    dana = doors.web("dana")
    status, body, _ = dana.get("/log?kind=access&actor=coordinator%3Acasey")
    assert status == 200
    shown = [int(i) for i in re.findall(r'href="/log/entries/(\d+)"', body)]
    assert shown == expected[:50]
    assert 'value="access" selected' in body

    every = [i for i, e in doors.entries() if e.kind == "access"]
    status, doc = doors.api("GET", "/api/v1/log/entries?kind=access&limit=1000", "ada")
    assert [x["index"] for x in doc["entries"]] == every
    status, out, _ = doors.cli(capsys, "log", "search", "--kind", "access")
    assert [int(line.split()[0]) for line in out.splitlines()] == every
    # The actor is matched exactly, as the log writes it.
    for actor in ("coordinator:cas", "casey", "coordinator:c_sey", "oordinator:casey"):
        status, doc = doors.api("GET", f"/api/v1/log/entries?actor={actor}", "dana")
        assert status == 200 and doc["entries"] == [], actor
    assert doors.api("GET", "/api/v1/log/entries?kind=looked", "dana")[0] == 400
    assert dana.get("/log?kind=looked")[0] == 400
    dana.close()


def test_a_subject_access_report_lists_every_disclosure_and_every_view(
    doors: DoorsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    first, repeat = doors.north
    assert doors.api("GET", f"/api/v1/cases/{first}", "casey")[0] == 200
    assert doors.cli(capsys, "case", "show", repeat, "--by", "casey")[0] == 0
    assert doors.api("GET", f"/api/v1/cases/{doors.south}", "sam")[0] == 200  # not hers
    disclosures = [
        i
        for i, e in doors.entries()
        if e.kind == "disclosure" and set(e.case_refs or ()) & {first, repeat}
    ]
    views = _views_of(doors, doors.north)
    others = _views_of(doors, [doors.south])
    assert len(disclosures) == 2 and len(views) >= 2 and others

    before = doors.size()
    status, out, err = doors.cli(
        capsys, "log", "subject", "--name", VICTIM[0], "--dob", VICTIM[1], "--by", "dana"
    )
    assert status == 0, err
    assert f"{len(disclosures)} disclosures concern this person" in out
    assert f"{len(views)} views of their records" in out
    listed = [int(i) for i in re.findall(r"\(entry (\d+)", out)]
    assert listed == disclosures + views
    assert "viewed by coordinator:casey  via api" in out and "via cli" in out
    assert not set(listed) & set(others)

    [(index, made)] = doors.entries(before)  # making the report is itself an access
    assert made.kind == "access" and made.purpose == "subject-access"
    assert made.actor == "dpo:dana" and made.door == "cli"
    assert made.case_refs == tuple(sorted(doors.north))
    raw = doors.raw(index)
    assert VICTIM[0].encode() not in raw and VICTIM[1].encode() not in raw

    dana = doors.web("dana")
    before = doors.size()
    status, body, _ = dana.post("/log/subject", {"name": VICTIM[0], "date_of_birth": VICTIM[1]})
    assert status == 200
    table = body.split("Who viewed this person")[1]
    shown = [int(i) for i in re.findall(r'href="/log/entries/(\d+)"', table)]
    assert shown == [*views, index]  # the CLI's report is a view of her records too
    assert "subject-access" in table and "dpo:dana" in table
    [(_, web_made)] = doors.entries(before)
    assert web_made.door == "web" and web_made.purpose == "subject-access"

    status, body, _ = dana.post("/log/subject.csv", {"name": VICTIM[0], "date_of_birth": VICTIM[1]})
    rows = [line.split(",") for line in body.splitlines()[2:]]
    assert status == 200 and {"disclosure", "access"} <= {r[1] for r in rows}
    assert {int(r[0]) for r in rows} >= {*disclosures, *views, index}

    before = doors.size()
    status, body, _ = dana.post(
        "/log/subject", {"name": "Nobody Known", "date_of_birth": VICTIM[1]}
    )
    assert status == 200 and "No case holds a person" in body
    assert doors.size() == before  # no case named: nothing to log
    dana.close()
