"""``marac-hub meeting|action`` in process, against a real data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.cli import main

TODAY = datetime.now(UTC).date()


def referral(name: str, days_ago: int, children: int = 0) -> dict[str, object]:
    return {
        "referring_agency": "police-north",
        "referred_on": (TODAY - timedelta(days=days_ago)).isoformat(),
        "victim": {"name": name, "date_of_birth": "1990-04-02"},
        "perpetrator": {"name": "Perp Person", "date_of_birth": "1988-01-20"},
        "children": [{"name": "Kid Person", "date_of_birth": "2019-06-01"}] * children,
        "risk": {"tool": "DASH", "answers": ["yes"] * 14 + ["no"] * 10},
        "criterion": "visible_high_risk",
        "consent": {"status": "sought_given"},
        "safe_contact": {"safe_to_contact": False},
        "perpetrator_must_not_know": False,
    }


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    monkeypatch.delenv("MARAC_HUB_DATABASE_URL", raising=False)
    path = tmp_path / "data"
    assert main(["--data-dir", str(path), "init"]) == 0
    return path


def run(data: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["--data-dir", str(data), *argv])
    out, err = capsys.readouterr()
    return status, out, err


def refused(result: tuple[int, str, str], text: str) -> None:
    status, _out, err = result
    assert status == 1 and err.count("\n") == 1 and text in err, err


def test_a_meeting_by_command_line(
    data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    invite = ["agency", "invite", "police-north", "--name", "Police", "--kind", "police"]
    invite += ["--isp-version", "1", "--isp-signed-by", "DMO", "--isp-signed-on", "2026-01-01"]
    assert run(data, capsys, "isp", "publish", "1", "--title", "ISP")[0] == 0  # invite needs it
    assert run(data, capsys, *invite)[0] == 0
    assert run(data, capsys, "area", "add", "north", "--name", "Northtown MARAC")[0] == 0
    assert run(data, capsys, "area", "add-agency", "north", "police-north")[0] == 0
    # --by names an active member of staff, whose role and areas apply.
    assert run(data, capsys, "user", "add", "nora", "--role", "coordinator")[0] == 0
    assert run(data, capsys, "area", "add-user", "north", "nora")[0] == 0
    refs = []
    for name, ago, kids in (("Ann Adult", 50, 0), ("Bea Parent", 5, 1)):
        file = tmp_path / f"{ago}.json"
        file.write_text(json.dumps(referral(name, ago, kids)))
        status, out, _ = run(data, capsys, "case", "refer", "--area", "north", "--file", str(file))
        assert status == 0, out
        refs.append(out.split()[0])
    day = (TODAY + timedelta(days=3)).isoformat()
    status, out, _ = run(data, capsys, "meeting", "create", "--area", "north", "--date", day)
    assert status == 0, out
    meeting = out.split()[1]
    status, out, _ = run(data, capsys, "meeting", "candidates", meeting)
    lines = out.splitlines()
    assert refs[1] in lines[0] and refs[0] in lines[1] and "BREACH" in lines[1]
    assert "Ann" not in out
    for ref in refs:
        assert run(data, capsys, "meeting", "add", meeting, ref, "--by", "nora")[0] == 0
    refused(run(data, capsys, "meeting", "add", meeting, refs[0]), "already on this agenda")
    refused(run(data, capsys, "meeting", "add", meeting, "M-1-1"), "case ref")
    status, out, _ = run(
        data, capsys, "meeting", "attend", meeting, "police-north", "--status", "attended"
    )
    assert status == 0
    # The agency never enrolled: it is refused, and the refusal is logged, not an error.
    status, out, _ = run(data, capsys, "meeting", "publish", meeting, "--by", "nora")
    assert status == 0 and "refused (agency-not-active; logged)" in out, out
    status, out, _ = run(
        data,
        capsys,
        "action",
        "add",
        "--meeting",
        meeting,
        "--case",
        refs[0],
        "--owner",
        "police-north",
        "--description",
        "Check bail",
        "--due",
        (TODAY - timedelta(days=1)).isoformat(),
    )
    assert status == 0 and "action notice to police-north: refused" in out, out
    action = out.split()[1]
    refused(run(data, capsys, "action", "update", action, "--status", "in_progress"), "due date")
    status, out, _ = run(
        data,
        capsys,
        "action",
        "update",
        action,
        "--status",
        "in_progress",
        "--reason",
        "waiting for court",
        "--by",
        "nora",
    )
    assert status == 0 and "in_progress" in out
    status, out, _ = run(data, capsys, "action", "list", "--overdue")
    assert action in out and "OVERDUE" in out and "waiting for court" in out
    status, out, _ = run(data, capsys, "action", "history", action)
    assert "admin:cli" in out and "coordinator:nora" in out and "waiting for court" in out
    status, out, _ = run(data, capsys, "action", "chase")
    assert f"chase of {action} to police-north: refused" in out
    status, out, _ = run(data, capsys, "action", "chase")
    assert "no overdue action" in out
    minutes = tmp_path / "minutes.json"
    minutes.write_text(json.dumps({"items": [{"case_ref": refs[0], "discussion": "Plan agreed"}]}))
    status, out, _ = run(data, capsys, "meeting", "minutes", meeting, "--file", str(minutes))
    assert status == 0 and "minutes to police-north: refused" in out
    status, out, _ = run(data, capsys, "case", "list", "--area", "north", "--status", "heard")
    assert refs[0] in out and refs[1] in out
    refused(run(data, capsys, "meeting", "minutes", meeting, "--file", str(minutes)), "closed")
    (tmp_path / "bad.json").write_text("{not json")
    refused(
        run(data, capsys, "meeting", "minutes", meeting, "--file", str(tmp_path / "bad.json")), ""
    )
