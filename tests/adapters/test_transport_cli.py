"""``marac-hub agency set-delivery|delivery`` and ``agency-client receive`` as real processes:
good input works, bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(program: str, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARAC_HUB_KEY_FILE_STRENGTH": "interactive"}
    env.pop("MARAC_HUB_DATABASE_URL", None)
    return subprocess.run(
        [str(BIN / program), *argv],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def fails(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and text in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hub") / "data"
    assert run("marac-hub", "--data-dir", str(path), "init").returncode == 0
    publish = ("isp", "publish", "2026.1", "--title", "ISP")  # invite needs a published ISP
    assert run("marac-hub", "--data-dir", str(path), *publish).returncode == 0
    invited = run(
        "marac-hub",
        "--data-dir",
        str(path),
        "agency",
        "invite",
        "refuge-east",
        "--name",
        "Refuge",
        "--kind",
        "refuge",
        "--isp-version",
        "2026.1",
        "--isp-signed-by",
        "A. Officer",
        "--isp-signed-on",
        "2026-11-01",
    )
    assert invited.returncode == 0, invited.stderr
    return path


def hub(data: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run("marac-hub", "--data-dir", str(data), "agency", *argv, stdin=stdin)


def test_set_and_show_delivery(data: Path, tmp_path: Path) -> None:
    config = tmp_path / "smtp.json"
    config.write_text(
        json.dumps(
            {
                "host": "smtp.refuge.example",
                "from": "hub@area.example",
                "to": "dmo@refuge.example",
                "username": "hub",
                "password": "mail secret",
            }
        )
    )
    done = hub(
        data,
        "set-delivery",
        "refuge-east",
        "--transport",
        "smtp",
        "--transport-config",
        str(config),
    )
    assert done.returncode == 0, done.stderr
    assert "refuge-east now receives by smtp in json" in done.stdout
    shown = hub(data, "delivery", "refuge-east")
    doc = json.loads(shown.stdout)
    assert doc["transport"] == "smtp" and doc["config"]["password"] == "***"
    assert "mail secret" not in shown.stdout + shown.stderr
    back = hub(data, "set-delivery", "refuge-east", "--transport", "mailbox", stdin="")
    assert back.returncode == 0, back.stderr


@pytest.mark.parametrize(
    ("argv", "config", "text"),
    [
        (["--transport", "carrier-pigeon"], None, "unknown transport"),
        (["--transport", "mailbox", "--format", "morse"], None, "unknown format"),
        (["--transport", "webhook"], None, "webhook settings need url"),
        (["--transport", "webhook"], "{", "not valid JSON"),
        (["--transport", "webhook"], "[1, 2]", "must be a JSON object"),
        (["--transport", "webhook"], '{"url": "http://gw.example/"}', "must be https"),
        (["--transport", "webhook"], '{"url": "https://gw.example/", "x": 1}', "do not take x"),
        (
            ["--transport", "smtp"],
            '{"host": "h", "from": "a@b", "to": "c@d", "port": "25"}',
            "port must be a number",
        ),
        (["--transport", "webhook"], "x" * 20_000, "too large"),
    ],
)
def test_bad_input_is_one_line(
    data: Path, tmp_path: Path, argv: list[str], config: str | None, text: str
) -> None:
    extra = []
    if config is not None:
        (tmp_path / "config.json").write_text(config)
        extra = ["--transport-config", str(tmp_path / "config.json")]
    fails(hub(data, "set-delivery", "refuge-east", *argv, *extra), text)


def test_unknown_agency_and_missing_file(data: Path, tmp_path: Path) -> None:
    fails(hub(data, "set-delivery", "nobody", "--transport", "mailbox"), "no such agency")
    fails(hub(data, "delivery", "nobody"), "no such agency")
    fails(
        hub(
            data,
            "set-delivery",
            "refuge-east",
            "--transport",
            "mailbox",
            "--transport-config",
            str(tmp_path / "missing.json"),
        ),
        "cannot read",
    )


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--listen", "nowhere"], "--listen must be HOST:PORT"),
        (["--listen", "127.0.0.1:99999"], "--listen must be HOST:PORT"),
        (["--listen", "127.0.0.1:8443", "--tls-cert", "x.pem"], "both --tls-cert and --tls-key"),
        (["--listen", "127.0.0.1:8443", "--path", "no-slash"], "--path must start with /"),
        (
            ["--listen", "127.0.0.1:8443", "--tls-cert", "x.pem", "--tls-key", "y.pem"],
            "cannot load the TLS certificate",
        ),
        (["--listen", "127.0.0.1:8443"], "is not enrolled"),
    ],
)
def test_receive_refuses_bad_input_in_one_line(tmp_path: Path, argv: list[str], text: str) -> None:
    fails(run("agency-client", "receive", "--dir", str(tmp_path / "client"), *argv), text)
