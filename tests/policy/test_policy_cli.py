"""``marac-hub basis|isp|policy`` through ``hub.cli.main`` against a real data directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.cli import main

BASIS_TOML = """
id = "local-protocol"
title = "Borough information sharing agreement"
art6 = "6(1)(e)"
art9 = "9(2)(g) substantial public interest"
dpa_schedule1 = "DPA 2018 Sch. 1 para 18"
purposes = ["agenda", "minutes"]
data_categories = ["identity", "special_category"]
"""


@pytest.fixture
def data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    monkeypatch.setenv("MARAC_HUB_KEY_FILE_STRENGTH", "interactive")
    monkeypatch.delenv("MARAC_HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARAC_HUB_POLICY_FILE", raising=False)
    path = tmp_path / "data"
    assert main(["--data-dir", str(path), "init"]) == 0
    capsys.readouterr()
    return path


def hub(data: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["--data-dir", str(data), *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_basis_add_list_show_retire(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = hub(data, capsys, "basis", "list")
    assert status == 0 and "safeguarding" in out and "Crime and Disorder Act 1998 s.115" in out
    spec = tmp_path / "basis.toml"
    spec.write_text(BASIS_TOML)
    assert hub(data, capsys, "basis", "add", "--file", str(spec))[1].startswith(
        "lawful basis local-protocol version 1"
    )
    spec.write_text(BASIS_TOML.replace("Borough", "Amended borough"))
    assert hub(data, capsys, "user", "add", "ann", "--role", "admin")[0] == 0
    assert hub(data, capsys, "user", "add", "cory", "--role", "coordinator")[0] == 0
    status, _, err = hub(data, capsys, "basis", "add", "--file", str(spec), "--by", "cory")
    assert status == 1 and "may not" in err  # lawful bases are hub-wide: admins only
    status, _, err = hub(data, capsys, "basis", "add", "--file", str(spec), "--by", "nobody")
    assert status == 1 and "not an active member of staff" in err
    assert "version 2" in hub(data, capsys, "basis", "add", "--file", str(spec), "--by", "ann")[1]
    status, out, _ = hub(data, capsys, "basis", "show", "local-protocol")
    assert status == 0 and "v2" in out and "v1" in out and "by admin:ann" in out
    assert "UK GDPR Art. 6(1)(e); Art. 9(2)(g)" in out
    status, out, _ = hub(data, capsys, "basis", "retire", "local-protocol")
    assert status == 0 and "2 version(s)" in out
    assert "local-protocol" not in hub(data, capsys, "basis", "list")[1]
    assert "RETIRED" in hub(data, capsys, "basis", "list", "--all")[1]
    status, _, err = hub(data, capsys, "basis", "retire", "local-protocol")
    assert status == 1 and "conflict" in err and err.count("\n") == 1


BAD_BASIS_FILES: list[tuple[str | bytes, str]] = [
    (BASIS_TOML.replace('art9 = "9(2)(g) substantial public interest"', ""), "Art. 9"),
    ("id = ", "not valid TOML"),
    (BASIS_TOML + 'colour = "red"\n', "colour"),
    (b"\xff\xfe", "not valid TOML"),
    ("#" * 70_000, "larger than"),
]


def test_basis_add_refuses_bad_files(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "basis.toml"
    for content, message in BAD_BASIS_FILES:
        if isinstance(content, bytes):
            spec.write_bytes(content)
        else:
            spec.write_text(content)
        status, _, err = hub(data, capsys, "basis", "add", "--file", str(spec))
        assert status == 1 and message in err and err.count("\n") == 1, err
    status, _, err = hub(data, capsys, "basis", "add", "--file", str(tmp_path / "absent"))
    assert status == 1 and "cannot read" in err


def test_isp_publish_sign_status(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "no ISP published" in hub(data, capsys, "isp", "status")[1]
    doc = tmp_path / "isp.pdf"
    doc.write_bytes(b"%PDF-1.7 the protocol")
    status, out, _ = hub(
        data, capsys, "isp", "publish", "2026.1", "--title", "ISP", "--file", str(doc)
    )
    assert status == 0 and "document SHA-256" in out
    on = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    assert (
        hub(
            data,
            capsys,
            "agency",
            "invite",
            "police-n",
            "--name",
            "Police",
            "--kind",
            "police",
            "--isp-version",
            "2026.1",
            "--isp-signed-by",
            "DMO",
            "--isp-signed-on",
            on,
        )[0]
        == 0
    )
    assert "police-n" in hub(data, capsys, "isp", "status")[1].split("current ISP")[1]
    assert hub(data, capsys, "isp", "publish", "2027.1", "--title", "ISP 2027")[0] == 0
    assert "NOT CURRENT" in hub(data, capsys, "isp", "status")[1]
    status, out, _ = hub(
        data,
        capsys,
        "isp",
        "sign",
        "police-n",
        "--version",
        "2027.1",
        "--signed-by",
        "DMO",
        "--on",
        on,
    )
    assert status == 0 and "signed ISP 2027.1" in out
    status, out, _ = hub(data, capsys, "isp", "status")
    assert "current ISP: 2027.1" in out and "NOT CURRENT" not in out
    status, _, err = hub(
        data, capsys, "isp", "sign", "police-n", "--version", "9", "--signed-by", "D"
    )
    assert status == 1 and "not published" in err
    status, _, err = hub(data, capsys, "isp", "publish", "2027.1", "--title", "again")
    assert status == 1 and "conflict" in err


def test_policy_explain_prints_what_is_sent_and_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = hub(
        tmp_path / "none",
        capsys,
        "policy",
        "explain",
        "--purpose",
        "action_notice",
        "--kind",
        "housing",
    )
    assert status == 0
    sent, not_sent = out.split("not sent")
    assert "decision: permit" in out
    assert "basis: public-task v1" in out and "UK GDPR Art. 6(1)(e)" in out
    assert "victim.address" in sent and "safe_contact.phone" in sent and "contact" in sent
    assert "victim.ethnicity" in not_sent
    status, out, _ = hub(
        tmp_path / "none",
        capsys,
        "policy",
        "explain",
        "--purpose",
        "action_notice",
        "--kind",
        "housing",
        "--restricted",
    )
    assert "victim.address" in out.split("not sent")[1]


def test_policy_explain_uses_the_hubs_bases(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hub(data, capsys, "basis", "retire", "public-task")
    status, out, _ = hub(
        data, capsys, "policy", "explain", "--purpose", "minutes", "--kind", "police"
    )
    assert status == 0 and "decision: deny" in out and "retired" in out


def test_policy_check(capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        'version = "1"\n[[rule]]\npurpose = "minutes"\nkinds = ["*"]\n'
        'fields = ["victim.name"]\nbasis = "public-task"\ndecision = "permit"\n'
    )
    status, out, _ = hub(tmp_path / "none", capsys, "policy", "check", str(good))
    assert status == 0 and "valid" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("minutes", "gossip").replace("public-task", "nope"))
    status, _, err = hub(tmp_path / "none", capsys, "policy", "check", str(bad))
    assert status == 1 and err.count("\n") == 2
    assert "unknown purpose 'gossip'" in err and "unknown lawful basis 'nope'" in err
    hub(data, capsys, "basis", "retire", "public-task")
    status, _, err = hub(data, capsys, "policy", "check", str(good))
    assert status == 1 and "unknown lawful basis 'public-task'" in err
