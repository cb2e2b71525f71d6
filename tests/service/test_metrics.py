"""``/metrics``: protected by the scrape token, route templates not paths, the database's
figures, and no personal data, case reference or staff name in any label."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from conftest import assert_problem
from monitoring_flow import PERSONAL_DATA, Hub, referral_agenda_receipts
from prometheus_client.parser import text_string_to_metric_families

from hub.testing import RunningHub, postgres_database, running_hub

TOKEN = "scrape-token-0123456789abcdef"
ALERTS = Path(__file__).parents[2] / "deploy" / "prometheus" / "alerts.yml"


@pytest.fixture(params=["sqlite", "postgresql"])
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A running hub with a scrape token, on each storage engine."""
    if request.param == "sqlite":
        async with running_hub(tmp_path, metrics_token=TOKEN) as running:
            yield running
        return
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc})")
    try:
        async with running_hub(tmp_path, database_url=url, metrics_token=TOKEN) as running:
            yield running
    finally:
        await database.__aexit__(None, None, None)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def scrape(http: aiohttp.ClientSession, url: str, token: str = TOKEN) -> str:
    async with http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        return await resp.text()


def samples(text: str) -> list[Any]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    found = [s.value for s in samples(text) if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, found)
    return float(found[0])


def routes(text: str) -> set[str]:
    return {s.labels["route"] for s in samples(text) if "route" in s.labels}


async def test_no_scrape_token_no_metrics(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_hub(tmp_path) as hub, http.get(f"{hub.url}/metrics") as resp:
        assert_problem(resp.status, await resp.json(content_type=None), 404, "not-found")


async def test_a_scrape_without_the_token_is_refused(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_hub(tmp_path, metrics_token=TOKEN) as hub:
        for headers in (
            {},
            {"Authorization": f"Bearer {TOKEN[:-1]}x"},
            {"Authorization": f"Bearer {hub.admin_token}"},  # a staff token is not a scrape's
            {"Authorization": TOKEN},
        ):
            async with http.get(f"{hub.url}/metrics", headers=headers) as resp:
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                doc = await resp.json(content_type=None)
                assert_problem(resp.status, doc, 401, "unauthorized")
                assert TOKEN not in str(doc)
        assert "marac_hub_http_requests_total" in await scrape(http, hub.url)
        openmetrics = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/openmetrics-text"}
        async with http.get(f"{hub.url}/metrics", headers=openmetrics) as resp:
            assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
            assert (await resp.text()).endswith("# EOF\n")


async def test_route_templates_not_paths_label_the_requests(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A request naming a case, a member of staff or an unknown path is counted under
    its route's template (or ``unmatched``), never under the concrete path."""
    async with running_hub(tmp_path, metrics_token=TOKEN) as hub:
        auth = {"Authorization": f"Bearer {hub.admin_token}"}
        for path in (
            "/api/v1/cases/MARAC-NORTH-2026-000417",
            "/api/v1/cases/MARAC-NORTH-2026-000417/nonsense",
            "/healthz",
        ):
            async with http.get(hub.url + path, headers=auth) as resp:
                await resp.read()
        async with http.delete(f"{hub.url}/api/v1/users/somebody-named", headers=auth) as resp:
            await resp.read()
        text = await scrape(http, hub.url)
    assert "MARAC-NORTH-2026-000417" not in text and "somebody-named" not in text
    assert (
        value(text, "marac_hub_http_requests_total", method="GET", route="/healthz", status="200")
        == 1
    )
    assert {"/api/v1/cases/{ref}", "unmatched", "/api/v1/users/{name}"} <= routes(text)
    assert (
        value(
            text,
            "marac_hub_http_request_duration_seconds_count",
            method="GET",
            route="/healthz",
        )
        == 1
    )
    assert value(text, "process_resident_memory_bytes") > 0


async def test_a_marac_run_in_the_metrics_without_personal_data(
    hub: RunningHub, http: aiohttp.ClientSession
) -> None:
    """Referral -> agenda -> receipts, then a scrape: the database's figures add up, every
    route label is a template of the application, and no personal data, case reference,
    staff name or token is in the text."""
    run = await referral_agenda_receipts(Hub(hub.url, hub.admin_token), http)
    text = await scrape(http, hub.url)
    for _ in range(100):  # the head signer signs soon after the entries are appended
        if value(text, "marac_hub_log_unsigned_entries") == 0:
            break
        await asyncio.sleep(0.1)
        text = await scrape(http, hub.url)

    for secret in (*PERSONAL_DATA, *run.case_refs, *run.tokens, TOKEN):
        assert secret not in text, secret
    templates = {r.canonical for r in hub.app.router.resources()} | {"unmatched"}
    assert routes(text) <= templates
    assert {"/api/v1/cases", "/api/v1/meetings/{id}/publish", "/api/v1/receipts"} <= routes(text), (
        routes(text)
    )
    assert (
        value(
            text,
            "marac_hub_http_requests_total",
            method="POST",
            route="/api/v1/cases",
            status="201",
        )
        == 1
    )
    for agency_id, received in run.received.items():
        assert value(text, "marac_hub_envelopes", agency=agency_id, status="delivered") == received
    assert not [
        s
        for s in samples(text)
        if s.name == "marac_hub_envelopes" and s.labels["status"] == "queued"
    ]
    assert not [s for s in samples(text) if s.name.startswith("marac_hub_oldest_unacknowledged")]
    entries = value(text, "marac_hub_log_entries")
    assert entries >= sum(run.received.values())
    assert value(text, "marac_hub_log_signed_head_size") == entries
    assert 0 <= value(text, "marac_hub_log_signed_head_age_seconds") < 3600
    assert value(text, "marac_hub_held_disclosures") == 0


async def test_an_unacknowledged_envelope_ages(
    hub: RunningHub, http: aiohttp.ClientSession
) -> None:
    """A notice no agency has acknowledged yet: queued, and its age counts up."""
    run = await referral_agenda_receipts(Hub(hub.url, hub.admin_token), http)
    async with http.post(
        f"{hub.url}/api/v1/notices",
        json={"to": "idva-north", "text": "Meeting moved to Thursday."},
        headers={"Authorization": f"Bearer {hub.admin_token}"},
    ) as resp:
        assert resp.status in (200, 201, 202), await resp.text()
    await asyncio.sleep(0.2)
    text = await scrape(http, hub.url)
    assert value(text, "marac_hub_envelopes", agency="idva-north", status="queued") >= 1
    assert (
        value(text, "marac_hub_oldest_unacknowledged_envelope_age_seconds", agency="idva-north")
        >= 0
    )
    assert run.case_refs[0] not in text


def exported_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


async def test_every_shipped_alert_names_metrics_the_hub_exports(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """deploy/prometheus/alerts.yml: each expression uses only metrics a scrape returns
    (after traffic; the held disclosures' age only once one waits)."""
    async with running_hub(tmp_path, metrics_token=TOKEN) as hub:
        await referral_agenda_receipts(Hub(hub.url, hub.admin_token), http)
        exported = exported_names(await scrape(http, hub.url))
    exported |= {"marac_hub_oldest_held_disclosure_age_seconds", "up"}  # only once one waits
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {
        "MaracHubDeliveryStuck",
        "MaracHubDeadLetters",
        "MaracHubLogHeadNotSigned",
        "MaracHubHighErrorRate",
    }
    for rule in rules:
        used = set(re.findall(r"\b((?:marac_hub|process)_[a-z_]+)\b", rule["expr"]))
        assert used, rule
        assert used <= exported, (rule["alert"], used - exported)
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_promtool_accepts_the_shipped_alerts() -> None:
    """``promtool check rules`` and the rules' unit tests (``alerts_test.yml``)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    for command in (("check", "rules", ALERTS.name), ("test", "rules", "alerts_test.yml")):
        done = subprocess.run(
            [promtool, *command],
            check=False,
            cwd=ALERTS.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
