"""End to end with the real agency client and the hub's real handlers: a published meeting's
research request and an action notice reach the client, and ``agency-client research`` and
``agency-client action update`` answer them into the meeting's research and action history."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import invite, staff_call
from test_meetings_api import referral

from agency_client.cli import main
from agency_client.datadir import DataDir

PASS = "a long agency passphrase"


async def client(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``agency-client`` in a thread: it runs its own event loop beside the hub's."""
    capsys.readouterr()
    status = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return status, out, err


async def staff(hub: Any, http: Any, method: str, path: str, token: str, body: Any = None) -> Any:
    status, doc = await staff_call(hub, http, method, path, token, body)
    assert status < 300, doc
    return doc


async def test_the_real_client_answers_research_and_updates_an_action(  # type: ignore[no-untyped-def]
    hub, http, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("AGENCY_CLIENT_PASSPHRASE", PASS)
    data = tmp_path / "police"
    identity, _ = DataDir(data).keys.create(PASS, strength="interactive")  # enrol reuses them
    code = await invite(hub, http, "police-north")
    status, _, err = await client(
        capsys, "enrol", "--hub", hub.url, "--code", code, "--dir", str(data)
    )
    assert status == 0, err
    admin = hub.admin_token
    await staff(
        hub,
        http,
        "POST",
        "/api/v1/agencies/police-north/approve",
        admin,
        {"identity_fingerprint": identity.fingerprint},
    )
    await staff(hub, http, "POST", "/api/v1/areas", admin, {"id": "north", "name": "North"})
    await staff(
        hub, http, "POST", "/api/v1/areas/north/agencies", admin, {"agency": "police-north"}
    )
    nora = await hub.add_user("nora", "coordinator")
    await staff(hub, http, "POST", "/api/v1/areas/north/users", admin, {"user": "nora"})
    case = await staff(
        hub, http, "POST", "/api/v1/cases", nora, {"area": "north", "referral": referral(0)}
    )
    ref = case["case_ref"]
    day = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    meeting = await staff(
        hub, http, "POST", "/api/v1/meetings", nora, {"area": "north", "date": day}
    )
    mid = meeting["id"]
    await staff(hub, http, "POST", f"/api/v1/meetings/{mid}/cases", nora, {"case_ref": ref})
    await staff(hub, http, "POST", f"/api/v1/meetings/{mid}/publish", nora, {})
    status, _, err = await client(capsys, "run", "--dir", str(data), "--once")
    assert status == 0, err

    answer = tmp_path / "answer.json"
    answer.write_text(
        json.dumps(
            {
                "nothing_known": False,
                "items": [
                    {"text": "Two call-outs in March.", "kind": "fact", "recorded_on": "2026-03-02"}
                ],
                "withheld": [{"description": "an intelligence report", "reason": "live operation"}],
            }
        )
    )
    status, out, err = await client(
        capsys, "research", ref, "--file", str(answer), "--dir", str(data)
    )
    assert status == 0 and f"research response for case {ref}" in out, err
    research = await staff(hub, http, "GET", f"/api/v1/meetings/{mid}/research", nora)
    [case_research] = [c for c in research["cases"] if c["case_ref"] == ref]
    [response] = case_research["responses"]
    assert response["agency"] == "police-north"
    assert [f["text"] for f in response["facts"]] == ["Two call-outs in March."]
    assert response["withheld"] == [
        {"description": "an intelligence report", "reason": "live operation"}
    ]

    due = (datetime.now(UTC).date() + timedelta(days=14)).isoformat()
    action = await staff(
        hub,
        http,
        "POST",
        "/api/v1/actions",
        nora,
        {
            "meeting": mid,
            "case_ref": ref,
            "owner": "police-north",
            "description": "Flag the address for an urgent response",
            "due_date": due,
        },
    )
    action_id = action["action"]["id"]
    status, _, err = await client(capsys, "run", "--dir", str(data), "--once")
    assert status == 0, err
    status, out, err = await client(
        capsys,
        "action",
        "update",
        action_id,
        "--status",
        "in_progress",
        "--note",
        "Marker placed",
        "--dir",
        str(data),
    )
    assert status == 0 and f"action {action_id} ({ref}) is now in_progress" in out, err
    history = await staff(hub, http, "GET", f"/api/v1/actions/{action_id}", nora)
    assert history["action"]["status"] == "in_progress"
    assert history["history"][-1]["note"] == "Marker placed"
    # Cancelling without a reason never leaves the client; the hub's own refusals are one line.
    status, _, err = await client(
        capsys, "action", "update", action_id, "--status", "cancelled", "--dir", str(data)
    )
    assert status == 1 and "invalid-message" in err and err.count("\n") == 1
