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
from datetime import UTC, datetime
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
from agencykit import HubThread, Kit

CALLERS = {"anonymous": None, "admin": "ada", "coordinator": "nora", "dpo": "dana"}
AGENCY = "police-north"
EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 2}
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


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """A hub with areas north and south, their staff, and an approved agency."""
    hub = HubThread(tmp_path_factory.mktemp("contract"))
    try:
        made = Kit(hub)
        made.seed()
        made.agency(AGENCY, ("north",))
        yield made
    finally:
        hub.stop()


class Caller:
    """Sends one generated case as one kind of caller; counts what it sent."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.session = requests.Session()
        self.sent = 0
        self.by_caller: dict[str, int] = {}
        self.statuses: dict[tuple[str, int], int] = {}

    def send(self, case: Any, who: str) -> None:
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
