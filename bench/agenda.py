"""A meeting's agenda published to every agency, until every agency has acknowledged it.

Run from the repository root::

    .venv/bin/python bench/agenda.py                      # 30 cases x 25 agencies, SQLite
    .venv/bin/python bench/agenda.py --engines sqlite postgresql
    .venv/bin/python bench/agenda.py --cases 10 --agencies 5

Set-up (not timed): ``marac-hub init`` and ``serve`` as real processes; an area; 25
agencies of the five kinds invited, enrolled, approved and added to the area; 30
referrals (distinct victims, each with a child) over ``POST /api/v1/cases``; a meeting
with the 30 cases listed. Timed: ``POST /api/v1/meetings/{id}/publish`` (each agency's
agenda, sealed and logged, holding the extracts of every case its policy rule allows,
and the research requests, one per case and agency) from the start of the request until
the 25 ``HubClient``s (long-polling, ``limit`` 100) have opened, verified and
acknowledged every envelope the publication reported. Reported: the envelopes, the time
the publish request took, the time to the last receipt, and the hub's CPU. The agencies'
clients run in ``--client-processes`` child processes (default 2, as in
``bench/delivery.py``: deployed, each agency is its own machine).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from _agencyproc import AgentSpec, agency_processes
from _hubproc import Hub, hub_processes, make_agents, markdown_table, staff
from _machine import machine_line

from hub.testing import POSTGRES_ADMIN_URL, postgres_database

AREA = "north"


def referral(index: int, referrer: str) -> dict[str, Any]:
    """A high-risk referral with a child; names and dates of birth distinct per index."""
    return {
        "referring_agency": referrer,
        "referred_on": "2026-11-02",
        "victim": {
            "name": f"Victim Person{index:03d}",
            "date_of_birth": f"19{70 + index % 25}-0{1 + index % 9}-1{index % 10}",
            "gender": "female",
            "address": f"{index} High Street, Northtown",
        },
        "perpetrator": {
            "name": f"Perpetrator Person{index:03d}",
            "date_of_birth": f"19{65 + index % 25}-0{1 + index % 9}-2{index % 10}",
            "gender": "male",
            "relationship_to_victim": "ex-partner",
        },
        "children": [{"name": f"Child Person{index:03d}", "date_of_birth": "2019-06-01"}],
        "risk": {"tool": "DASH", "answers": ["yes"] * 15 + ["no"] * 9},
        "criterion": "visible_high_risk",
        "consent": {"status": "not_sought", "exception": "risk of serious harm"},
        "safe_contact": {"safe_to_contact": True, "phone": "07700 900123"},
        "perpetrator_must_not_know": False,
    }


def sent_to(doc: Any) -> dict[str, str]:
    """Envelope id -> agency, for every ``disclosed`` outcome in the publication report."""
    found = {}
    for item in [*doc.get("agendas", []), *doc.get("research_requests", [])]:
        if item.get("outcome") == "disclosed":
            found[item["reference"]] = item["agency"]
    return found


async def prepare(http: aiohttp.ClientSession, hub: Hub, cases: int, agencies: int) -> Any:
    """Area, agencies, referrals and a meeting listing them; the meeting id and agents."""
    await staff(http, hub.url, hub.token, "/api/v1/areas", {"id": AREA, "name": "Northtown"})
    agents = await make_agents(http, hub, agencies)
    for agent in agents:
        path = f"/api/v1/areas/{AREA}/agencies"
        await staff(http, hub.url, hub.token, path, {"agency": agent.id})
    refs = []
    for index in range(cases):
        doc = await staff(
            http,
            hub.url,
            hub.token,
            "/api/v1/cases",
            {"area": AREA, "referral": referral(index, agents[0].id)},
        )
        refs.append(doc["case_ref"])
    meeting = await staff(
        http, hub.url, hub.token, "/api/v1/meetings", {"area": AREA, "date": "2026-12-01"}
    )
    for ref in refs:
        path = f"/api/v1/meetings/{meeting['id']}/cases"
        await staff(http, hub.url, hub.token, path, {"case_ref": ref})
    return meeting["id"], agents


async def run(engine: str, args: argparse.Namespace) -> list[str]:
    database = None
    url = None
    if engine == "postgresql":
        database = postgres_database(args.postgres_url)
        try:
            url = await database.__aenter__()
        except OSError as exc:
            return ["PostgreSQL", f"skipped: {type(exc).__name__}"]
    try:
        with tempfile.TemporaryDirectory(prefix="marac-agenda-") as tmp:
            async with hub_processes(Path(tmp) / "hub", url) as hub:
                return await timed(engine, hub, args)
    finally:
        if database is not None:
            await database.__aexit__(None, None, None)


async def timed(engine: str, hub: Hub, args: argparse.Namespace) -> list[str]:
    async with aiohttp.ClientSession() as http:
        meeting, agents = await prepare(http, hub, args.cases, args.agencies)
        key = (await agents[0].client.fetch_hub_info()).identity_key
        await asyncio.gather(*(a.client.close() for a in agents))
        specs = [AgentSpec.of(a, None) for a in agents]  # counts follow the publication
        async with agency_processes(specs, key.raw, args.client_processes, args.timeout) as ours:
            ours.go()
            await asyncio.sleep(0.5)  # every client is waiting in its long-poll
            cpu0 = hub.cpu()
            start = time.perf_counter()
            path = f"/api/v1/meetings/{meeting}/publish"
            report = await staff(http, hub.url, hub.token, path, {})
            published = time.perf_counter() - start
            expected = sent_to(report)
            ours.expect(dict(Counter(expected.values())))
            async with asyncio.timeout(args.timeout + 30):
                got = await ours.results()
            cpu1 = hub.cpu()
    acked_at = {i: t for r in got for i, t in r.acked_at.items()}
    opened = {i: o[0] for r in got for i, o in r.opened.items()}
    whole = (
        bool(expected)
        and set(acked_at) == set(expected)
        and all(opened.get(i) == agency for i, agency in expected.items())
        and not any(r.redelivered or r.already or r.leftover or r.timed_out for r in got)
    )
    total = max(acked_at.values()) - start if whole else float("nan")
    agendas = sum(1 for a in report["agendas"] if a.get("outcome") == "disclosed")
    return [
        "SQLite" if engine == "sqlite" else "PostgreSQL",
        f"{args.cases} x {args.agencies}",
        str(agendas),
        str(len(expected) - agendas),
        f"{published:.2f}",
        f"{total:.2f}",
        f"{(cpu1 - cpu0):.1f}" if cpu0 is not None and cpu1 is not None else "-",
        "✓" if whole else "✗",
    ]


async def amain(args: argparse.Namespace) -> int:
    print("# Agenda: a meeting published to every agency, until every receipt\n")
    print(machine_line())
    print(f"- command: `{' '.join(['.venv/bin/python', 'bench/agenda.py', *sys.argv[1:]])}`")
    print(f"- agency clients: {args.agencies} in {args.client_processes} process(es)\n")
    rows = [await run(engine, args) for engine in args.engines]
    print(
        markdown_table(
            [
                "hub",
                "cases x agencies",
                "agendas",
                "research requests",
                "publish s",
                "to last receipt s",
                "hub CPU s",
                "all acknowledged",
            ],
            rows,
        )
    )
    print(
        "\n- each agenda is one sealed, logged envelope carrying every case's extract the "
        "agency's policy rule allows; research requests are one per case and agency"
    )
    return 0 if all(r[-1] == "✓" for r in rows if len(r) > 2) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--agencies", type=int, default=25)
    parser.add_argument(
        "--engines", nargs="+", choices=("sqlite", "postgresql"), default=("sqlite",)
    )
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        choices=range(1, 26),
        metavar="K",
        help="agency i's client runs in child process i mod K (2)",
    )
    return asyncio.run(amain(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
