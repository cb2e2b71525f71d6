"""``marac-hub area|case|report|retention`` in process, against a real data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from casekit import referral

from hub.cli import main

TODAY = datetime.now(UTC).date()


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


def test_a_coordinators_day(data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(data, capsys, "user", "add", "nora", "--role", "coordinator")[0] == 0
    invite = ["agency", "invite", "police-north", "--name", "Police", "--kind", "police"]
    invite += ["--isp-version", "1", "--isp-signed-by", "DMO", "--isp-signed-on", "2026-01-01"]
    assert run(data, capsys, "isp", "publish", "1", "--title", "ISP")[0] == 0  # invite needs it
    assert run(data, capsys, *invite)[0] == 0
    status, out, _ = run(data, capsys, "area", "add", "north", "--name", "Northtown MARAC")
    assert status == 0 and "target 42 days" in out and "retention 6 years" in out
    status, out, _ = run(data, capsys, "area", "set", "north", "--escalation-callouts", "4")
    assert "escalation 4 call-outs" in out
    assert run(data, capsys, "area", "add-agency", "north", "police-north")[0] == 0
    assert run(data, capsys, "area", "add-user", "north", "nora")[0] == 0
    refused(run(data, capsys, "area", "add", "north", "--name", "again"), "already exists")
    refused(run(data, capsys, "area", "set", "west", "--name", "x"), "no such area")
    refused(run(data, capsys, "area", "add", "Bad Id", "--name", "x"), "area id")
    refused(run(data, capsys, "area", "set", "north", "--target-days", "0"), "target_days")
    assert "north" in run(data, capsys, "area", "list")[1]

    day = (TODAY - timedelta(days=2)).isoformat()
    file = tmp_path / "referral.json"
    file.write_text(json.dumps(referral(referred_on=day)))
    status, out, _ = run(data, capsys, "case", "refer", "--area", "north", "--file", str(file))
    year = day[:4]
    assert status == 0 and out.strip() == f"M-{year}-0001 referred: not a repeat; 15 yes, high risk"
    status, out, _ = run(data, capsys, "case", "refer", "--area", "north", "--file", str(file))
    assert f"repeat of M-{year}-0001" in out
    status, out, _ = run(data, capsys, "case", "list", "--area", "north")
    assert out.count("children:1") == 2 and "Alice" not in out
    status, out, _ = run(data, capsys, "case", "show", f"M-{year}-0001")
    assert status == 0 and "Alice Smith" in out and "criteria visible_high_risk" in out

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(referral(referred_on=day, risk={"tool": "DASH", "answers": []})))
    refused(
        run(data, capsys, "case", "refer", "--area", "north", "--file", str(bad)), "risk.answers"
    )
    bad.write_text("{not json")
    refused(run(data, capsys, "case", "refer", "--area", "north", "--file", str(bad)), "")
    bad.write_bytes(b" " * (1024 * 1024 + 1))
    refused(
        run(data, capsys, "case", "refer", "--area", "north", "--file", str(bad)), "larger than"
    )
    refused(
        run(data, capsys, "case", "refer", "--area", "north", "--file", str(tmp_path / "no")),
        "cannot read",
    )
    refused(run(data, capsys, "case", "show", "M-2026-9999"), "no such case")
    refused(run(data, capsys, "case", "list", "--area", "west"), "no such area")

    status, out, _ = run(data, capsys, "report", "safelives", "--quarter", _quarter(day))
    assert "north," + _quarter(day) + ",cases,total,2" in out
    assert "north," + _quarter(day) + ",repeats,total,1" in out
    refused(run(data, capsys, "report", "safelives", "--quarter", "2026Q9"), "quarter")
    refused(
        run(data, capsys, "report", "safelives", "--quarter", "2026Q1", "--area", "x"), "no such"
    )

    ref = f"M-{year}-0002"
    assert run(data, capsys, "case", "hold", ref, "--reason", "DHR")[0] == 0
    later = (TODAY + timedelta(days=7 * 366)).isoformat()
    status, out, _ = run(data, capsys, "retention", "run", "--dry-run", "--now", later)
    assert f"would destroy 1 case(s): M-{year}-0001" in out and f"legal hold: {ref}" in out
    status, out, _ = run(data, capsys, "retention", "run", "--now", later)
    assert f"destroyed 1 case(s): M-{year}-0001" in out
    assert not (data / "hub.sqlite3-wal").exists() or (data / "hub.sqlite3-wal").stat().st_size < 1
    refused(run(data, capsys, "case", "show", f"M-{year}-0001"), "key-destroyed")
    assert run(data, capsys, "case", "release", ref)[0] == 0
    status, out, _ = run(data, capsys, "retention", "run", "--now", later)
    assert f"destroyed 1 case(s): {ref}" in out


def _quarter(day: str) -> str:
    return f"{day[:4]}Q{(int(day[5:7]) - 1) // 3 + 1}"
