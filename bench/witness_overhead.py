"""What witnessing costs an agency, per checkpoint: requests, CPU on the agency's side and
on the hub's, and the wall time of one ``agency-client witness`` step.

A real ``marac-hub serve`` process (SQLite) and agencies enrolled over the API
(``_hubproc``); each round a coordinator's notice grows the log, the hub signs a new
checkpoint, and every agency runs one witness step (:class:`agency_client.witness.Witness`:
fetch the checkpoint, verify it, fetch and verify the consistency proof, cosign, post).
The agencies' CPU is this process's (``time.process_time``, the witness step only); the
hub's is its process's, from ``/proc``.

    .venv/bin/python bench/witness_overhead.py --agencies 2 --rounds 30
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _hubproc import hub_processes, make_agents, staff

from agency_client.store import Store, derive_store_key
from agency_client.witness import Witness


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def amain(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="marac-witness-") as tmp:
        async with hub_processes(Path(tmp) / "hub", None) as hub, aiohttp.ClientSession() as http:
            agents = await make_agents(http, hub, args.agencies)
            stores = [
                Store(Path(tmp) / f"{a.id}.sqlite3", derive_store_key(a.identity)) for a in agents
            ]
            requests: list[int] = []
            counted = [0]
            for agent in agents:
                exchange = agent.client.exchange

                async def counting(*a: Any, _real: Any = exchange, **k: Any) -> bytes:
                    counted[0] += 1
                    result: bytes = await _real(*a, **k)
                    return result

                agent.client.exchange = counting  # type: ignore[method-assign]
            witnesses = [
                Witness(a.client, s, a.identity, a.pinned_hub_key)
                for a, s in zip(agents, stores, strict=True)
            ]
            for w in witnesses:  # the first checkpoint: trusted on first use, not measured
                assert (await w.step()).kind == "cosigned"
            client_ms: list[float] = []
            hub_ms: list[float] = []
            wall_ms: list[float] = []
            for round_ in range(args.rounds):
                body = {"to": "all", "text": f"Round {round_}."}
                await staff(http, hub.url, hub.token, "/api/v1/notices", body)
                await asyncio.sleep(0.4)  # the hub signs a checkpoint within 0.2 s
                for w in witnesses:
                    counted[0] = 0
                    hub0, cpu0, t0 = hub.cpu(), time.process_time(), time.perf_counter()
                    outcome = await w.step()
                    t1, cpu1, hub1 = time.perf_counter(), time.process_time(), hub.cpu()
                    if outcome.kind != "cosigned":
                        print(f"round {round_}: {outcome.kind}: {outcome.message}", file=sys.stderr)
                        return 1
                    requests.append(counted[0])
                    client_ms.append((cpu1 - cpu0) * 1000)
                    wall_ms.append((t1 - t0) * 1000)
                    if hub0 is not None and hub1 is not None:
                        hub_ms.append((hub1 - hub0) * 1000)
            for s in stores:
                s.close()
            for a in agents:
                await a.client.close()
    steps = len(client_ms)
    print(f"witness overhead: {args.agencies} agencies x {args.rounds} checkpoints = {steps} steps")
    print("| per agency per checkpoint | mean | p50 | p95 |")
    print("| --- | --- | --- | --- |")
    for name, values in (
        ("HTTP requests", [float(r) for r in requests]),
        ("agency CPU ms", client_ms),
        ("hub CPU ms (process, /proc ticks)", hub_ms),
        ("wall ms", wall_ms),
    ):
        if values:
            print(
                f"| {name} | {statistics.fmean(values):.1f} | {_percentile(values, 0.5):.1f} | "
                f"{_percentile(values, 0.95):.1f} |"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=30)
    return asyncio.run(amain(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
