"""The hub's logs, from ``marac-hub serve`` as a real process: JSON lines with the fields
an operator ships and searches, a request id returned as ``X-Request-Id``, and nothing of
the people in a case, no case reference and no token."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from monitoring_flow import PERSONAL_DATA, Hub, referral_agenda_receipts
from scaleout.scaleout_helpers import MARAC_HUB, Served, env_for, free_port, init, wait_ready

FIELDS = {"time", "level", "logger", "message"}
ACCESS_FIELDS = FIELDS | {"request_id", "method", "route", "status", "duration_ms", "role"}
ROLES = {"admin", "coordinator", "dpo", "agency", "anonymous"}


@contextmanager
def serving(data_dir: Path, *flags: str) -> Iterator[tuple[Served, Path]]:
    """``marac-hub serve FLAGS`` on a free port, its standard error in a file; stopped on
    exit (so that every line is written before the test reads them)."""
    port = free_port()
    stderr = data_dir / "serve.stderr"
    with stderr.open("wb") as err, (data_dir / "serve.stdout").open("wb") as out:
        process = subprocess.Popen(
            [MARAC_HUB, "--data-dir", str(data_dir), "serve", "--port", str(port), *flags],
            env=env_for(None),
            stdout=out,
            stderr=err,
        )
        served = Served(f"http://127.0.0.1:{port}", process)
        try:
            wait_ready(served, stderr)
            yield served, stderr
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> aiohttp.ClientResponse:
    async with http.get(url, headers=headers, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def test_a_marac_run_logs_json_lines_without_personal_data(tmp_path: Path) -> None:
    """Referral -> agenda -> receipts against ``serve --log-format json``: every line is a
    JSON object with time, level, logger and message; each request has one access line
    with its id, route template, status, duration and role; no name, date of birth,
    address, phone number, case reference, staff name or token anywhere."""
    token = init(tmp_path, None)
    with serving(tmp_path, "--log-format", "json", "--log-level", "info") as (served, stderr):
        async with aiohttp.ClientSession() as http:
            run = await referral_agenda_receipts(Hub(served.url, token), http, publish_isp=True)
            ref = run.case_refs[0]
            mine = await get(http, f"{served.url}/healthz", **{"X-Request-Id": "trace-0001.abc_d"})
            assert mine.headers["X-Request-Id"] == "trace-0001.abc_d"
            for unsafe in ("short", "with spaces in it", "x" * 65, "../../../etc/passwd", "-lead"):
                answered = await get(http, f"{served.url}/healthz", **{"X-Request-Id": unsafe})
                replaced = answered.headers["X-Request-Id"]
                assert replaced != unsafe and len(replaced) == 32, replaced
            # A refusal, a path naming a case, a redirect: each answered with its own id.
            refused = await get(http, f"{served.url}/api/v1/cases/{ref}")
            assert refused.status == 401 and len(refused.headers["X-Request-Id"]) == 32
            named = await get(
                http, f"{served.url}/api/v1/cases/{ref}", Authorization=f"Bearer {token}"
            )
            assert named.status == 200 and named.headers["X-Request-Id"]
            redirect = await get(http, f"{served.url}/")
            assert redirect.status in (302, 303) and redirect.headers["X-Request-Id"]
    text = stderr.read_text()
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line]
    assert lines and all(set(line) >= FIELDS for line in lines), text[:2000]
    access = [line for line in lines if line["logger"] == "hub.access"]
    assert all(set(line) >= ACCESS_FIELDS for line in access)
    assert {line["role"] for line in access} == {"admin", "coordinator", "agency", "anonymous"}
    assert {"/api/v1/cases", "/api/v1/cases/{ref}", "/api/v1/meetings/{id}/publish"} <= {
        line["route"] for line in access
    }
    assert [line["status"] for line in access if line["request_id"] == "trace-0001.abc_d"] == [200]
    assert {refused.headers["X-Request-Id"], named.headers["X-Request-Id"]} <= {
        line["request_id"] for line in access
    }
    assert all(isinstance(line["duration_ms"], float) for line in access)
    for secret in (*PERSONAL_DATA, *run.case_refs, *run.tokens):
        assert secret not in text, secret


async def test_text_logs_and_the_level_setting(tmp_path: Path) -> None:
    """``--log-format text``: one readable line a request, its id in brackets; at
    ``--log-level warning`` a successful request writes nothing."""
    init(tmp_path, None)
    with serving(tmp_path, "--log-format", "text") as (served, stderr):
        async with aiohttp.ClientSession() as http:
            await get(http, f"{served.url}/healthz", **{"X-Request-Id": "text-trace-42"})
    line = next(x for x in stderr.read_text().splitlines() if "text-trace-42" in x)
    assert " INFO hub.access GET /healthz -> 200 in " in line and line.endswith("[text-trace-42]")
    with serving(tmp_path, "--log-format", "json", "--log-level", "warning") as (served, stderr):
        async with aiohttp.ClientSession() as http:
            await get(http, f"{served.url}/healthz")
    assert "hub.access" not in stderr.read_text()


def test_a_bad_log_setting_is_one_line(tmp_path: Path) -> None:
    init(tmp_path, None)
    done = subprocess.run(
        [MARAC_HUB, "--data-dir", str(tmp_path), "serve", "--log-format", "xml"],
        env=env_for(None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    env = {**env_for(None), "MARAC_HUB_LOG_LEVEL": "chatty"}
    done = subprocess.run(
        [MARAC_HUB, "--data-dir", str(tmp_path), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
