"""``marac-hub send``, ``extract`` and ``held`` as a coordinator runs them: refusals are one
line and a non-zero exit, logged, and the command signs a tree head before it exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def hub(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARAC_HUB_KEY_FILE_STRENGTH": "interactive"}
    env.pop("MARAC_HUB_DATABASE_URL", None)
    return subprocess.run(
        [str(BIN / "marac-hub"), "--data-dir", str(data), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hub") / "data"
    for argv in (
        ("init",),
        ("isp", "publish", "2026.1", "--title", "North MARAC ISP"),
        (
            "agency",
            "invite",
            "police-north",
            "--name",
            "North Police",
            "--kind",
            "police",
            "--isp-version",
            "2026.1",
            "--isp-signed-by",
            "DMO",
            "--isp-signed-on",
            "2026-11-01",
        ),
    ):
        result = hub(path, *argv)
        assert result.returncode == 0, result.stderr
    return path


def test_a_refused_notice_is_one_line_logged_and_covered_by_a_signed_head(data: Path) -> None:
    result = hub(data, "send", "--to", "police-north", "--text", "Meeting moved to 10:00")
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and "agency-not-active" in result.stderr
    head = hub(data, "log", "head")
    assert head.returncode == 0, head.stderr
    assert "size" in head.stdout.lower() and "1" in head.stdout
    found = hub(data, "log", "search", "--refusals")
    assert found.returncode == 0 and "police-north" in found.stdout
    assert hub(data, "log", "verify").returncode == 0


def test_bad_extract_and_held_commands_fail_clearly(data: Path) -> None:
    result = hub(data, "extract", "M-2026-0001", "--to", "police-north")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    result = hub(
        data, "extract", "M-2026-0001", "--to", "police-north", "--widen", "victim.address"
    )
    assert result.returncode == 1 and "justification" in result.stderr
    listed = hub(data, "held", "list")
    assert listed.returncode == 0 and "nothing held" in listed.stdout
    result = hub(data, "held", "approve", "01HZX3P4Q5R6S7T8V9W0X1Y2Z3")
    assert result.returncode == 1 and "no such held disclosure" in result.stderr
