"""The API keeps its OpenAPI document: schemathesis over ``/api/v1/openapi.json``.

One real hub on loopback with two areas, their staff and an approved agency. Every
operation of the document is called with generated requests, valid and invalid, as
anonymous, as each staff role (admin, coordinator, DPO) and, where the operation admits
agencies, as the agency with a correctly signed request. Every answer must be no server
error, conform to the document (status, content type, headers, body schema), and every
error must be ``application/problem+json``. Bounded and derandomised: the same requests
on every run, at least 1,000 of them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from yarl import URL

from hub.crypto.request_signing import sign_request
from hub.protocol.errors import PROBLEM_CONTENT_TYPE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from agencykit import HubThread, Kit
from casekit import referral
from engines import ENGINES, SyncPostgres

CALLERS = {"anonymous": None, "admin": "ada", "coordinator": "nora", "dpo": "dana"}
AGENCY = "police-north"
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 1}
MINIMUM_REQUESTS = 1000


def problem_json_errors(ctx: Any, response: schemathesis.Response, case: Any) -> bool | None:
    """Every 4xx and 5xx answer is RFC 9457 problem+json."""
    if response.status_code >= 400:
        media = response.headers.get("content-type", [""])[0].split(";")[0].strip()
        if media != PROBLEM_CONTENT_TYPE:
            raise AssertionError(f"{response.status_code} answered as {media!r}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    problem_json_errors,
]


def _kit(root: Path, **settings: Any) -> Iterator[Kit]:
    """A hub with areas north and south, their staff, and an approved agency."""
    hub = HubThread(root, **settings)
    try:
        made = Kit(hub)
        made.seed()
        made.agency(AGENCY, ("north",))
        yield made
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """The hub the generated requests go to (SQLite)."""
    yield from _kit(tmp_path_factory.mktemp("contract"))


@pytest.fixture(params=ENGINES)
def engine_kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kit]:
    """A fresh hub on each storage engine (PostgreSQL skipped if no server answers)."""
    if request.param == "sqlite":
        yield from _kit(tmp_path)
        return
    database = SyncPostgres()
    try:
        yield from _kit(tmp_path, database_url=database.url)
    finally:
        database.close()


class Caller:
    """Sends one generated case as one kind of caller; counts what it sent."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.session = requests.Session()
        self.sent = 0
        self.by_caller: dict[str, int] = {}
        self.statuses: dict[tuple[str, int], int] = {}

    def send(self, case: Any, who: str) -> requests.Response:
        kwargs = case.as_transport_kwargs(base_url=self.kit.hub.url)
        kwargs.pop("timeout", None)
        prepared = requests.Request(**kwargs).prepare()
        if who == "agency":
            url = URL(str(prepared.url), encoded=True)
            body = prepared.body or b""
            prepared.headers.update(
                sign_request(
                    self.kit.identities[AGENCY],
                    AGENCY,
                    str(prepared.method),
                    url.path,
                    url.query_string,
                    body.encode() if isinstance(body, str) else body,
                    now=datetime.now(UTC),
                )
            )
        elif CALLERS[who] is not None:
            prepared.headers["Authorization"] = f"Bearer {self.kit.tokens[CALLERS[who]]}"
        response = self.session.send(prepared, timeout=120)
        self.sent += 1
        self.by_caller[who] = self.by_caller.get(who, 0) + 1
        key = (who, response.status_code)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        case.validate_response(response, checks=CHECKS)
        return response


def fuzz(operation: Any, mode: GenerationMode, callers: list[str], caller: Caller) -> None:
    """Send ``EXAMPLES[mode]`` generated cases of ``operation`` as each of ``callers``."""

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        for who in callers:
            caller.send(case, who)

    run()


def test_every_operation_keeps_the_document_for_every_caller(kit: Kit) -> None:
    document = requests.get(f"{kit.hub.url}/api/v1/openapi.json", timeout=60).json()
    schema = schemathesis.openapi.from_dict(document)
    caller = Caller(kit)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        raw = operation.definition.raw
        agency = ["agency"] if "agency" in raw.get("x-roles", []) else []
        takes_input = bool(raw.get("parameters")) or "requestBody" in raw
        for mode in EXAMPLES:
            if mode is GenerationMode.NEGATIVE and not takes_input:
                continue  # nothing to get wrong
            try:
                fuzz(operation, mode, [*CALLERS, *agency], caller)
            except (Exception, BaseExceptionGroup) as exc:  # reported with the others
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    answers = sorted(caller.statuses.items())
    print(
        f"schemathesis: {caller.sent} requests over {operations} operations "
        f"({caller.by_caller}), {len(failures)} failures; answers: {answers}"
    )
    assert not failures, "\n\n".join(failures)
    assert caller.sent >= MINIMUM_REQUESTS
    assert {"anonymous", "admin", "coordinator", "dpo", "agency"} <= set(caller.by_caller)


def _later(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_real_objects_answer_as_documented(engine_kit: Kit) -> None:
    """Generated requests rarely name a real case, meeting or action: these do, so every
    success body the document describes is checked against a hub that holds them."""
    document = requests.get(f"{engine_kit.hub.url}/api/v1/openapi.json", timeout=60).json()
    schema = schemathesis.openapi.from_dict(document)
    caller = Caller(engine_kit)

    def call(method: str, path: str, who: str = "admin", **parts: Any) -> Any:
        response = caller.send(schema[path][method].Case(**parts), who)
        assert response.status_code < 300, (method, path, who, response.text)
        media = response.headers["content-type"].split(";")[0]
        return response.json() if media == "application/json" else None

    ref = call(
        "POST", "/api/v1/cases", "coordinator", body={"area": "north", "referral": referral()}
    )["case_ref"]
    meeting = call(
        "POST", "/api/v1/meetings", "coordinator", body={"area": "north", "date": _later(30)}
    )["id"]
    ids = {"id": meeting}
    call(
        "POST",
        "/api/v1/meetings/{id}/cases",
        "coordinator",
        path_parameters=ids,
        body={"case_ref": ref},
    )
    action = call(
        "POST",
        "/api/v1/actions",
        "coordinator",
        body={
            "meeting": meeting,
            "case_ref": ref,
            "owner": AGENCY,
            "description": "Check the address",
            "due_date": _later(10),
        },
    )["action"]["id"]
    held = call(
        "POST",
        "/api/v1/cases/{ref}/extracts",
        "coordinator",
        path_parameters={"ref": ref},
        body={
            "agency_id": AGENCY,
            "widen": ["risk.answers"],
            "justification": "The officer needs the checklist for the visit",
        },
    )
    assert held["status"] == "held", held
    call("POST", "/api/v1/notices", body={"to": "all", "text": "Agenda soon."})
    call(
        "POST",
        "/api/v1/meetings/{id}/attendance",
        "coordinator",
        path_parameters=ids,
        body={"agency": AGENCY, "status": "attended"},
    )
    call("POST", "/api/v1/meetings/{id}/publish", "coordinator", path_parameters=ids, body={})
    call(
        "POST",
        "/api/v1/actions/{id}/updates",
        "coordinator",
        path_parameters={"id": action},
        body={"status": "in_progress", "note": "Visit booked"},
    )
    call("POST", "/api/v1/actions/chase", "coordinator")
    for who in ("admin", "coordinator", "dpo"):
        for path, parts in [
            ("/api/v1/areas", {}),
            ("/api/v1/agencies", {}),
            ("/api/v1/cases", {"query": {"area": "north"}}),
            ("/api/v1/meetings", {"query": {"area": "north"}}),
            ("/api/v1/meetings/{id}", {"path_parameters": ids}),
            ("/api/v1/meetings/{id}/candidates", {"path_parameters": ids}),
            ("/api/v1/actions", {"query": {"area": "north"}}),
            ("/api/v1/held", {"query": {"status": "all"}}),
            ("/api/v1/bases", {"query": {"id": "public-task"}}),
            ("/api/v1/isp", {}),
            ("/api/v1/policy", {}),
            ("/api/v1/policy/explain", {"query": {"purpose": "agenda", "kind": "police"}}),
            ("/api/v1/log/head", {}),
        ]:
            call("GET", path, who, **parts)
    for path, parts in [
        ("/api/v1/cases/{ref}", {"path_parameters": {"ref": ref}}),
        ("/api/v1/meetings/{id}/research", {"path_parameters": ids}),
        ("/api/v1/actions/{id}", {"path_parameters": {"id": action}}),
        ("/api/v1/agencies/{id}/delivery", {"path_parameters": {"id": AGENCY}}),
        ("/api/v1/alerts", {}),
    ]:
        call("GET", path, "coordinator", **parts)
    for path, parts in [
        ("/api/v1/users", {}),
        ("/api/v1/log/entries", {"query": {"limit": 5}}),
        ("/api/v1/log/inclusion", {"query": {"index": 0}}),
        ("/api/v1/log/export", {"query": {"format": "csv"}}),
        ("/api/v1/log/export", {"query": {"format": "jsonl"}}),
    ]:
        call("GET", path, "admin", **parts)
    call("POST", "/api/v1/log/verify")
    envelopes = call("GET", "/api/v1/mailbox", "agency")["envelopes"]
    assert envelopes
    call("GET", "/api/v1/log/keys", "agency")
    call("GET", "/api/v1/log/head", "agency")
    size = call("GET", "/api/v1/log/head")["size"]
    call("GET", "/api/v1/log/consistency", "agency", query={"from": 1, "to": size})
    call(
        "POST",
        "/api/v1/meetings/{id}/minutes",
        "coordinator",
        path_parameters=ids,
        body={"items": [{"case_ref": ref, "discussion": "Safety plan agreed."}]},
    )
    assert caller.sent > 40
