"""The authorisation matrix, generated from the use-case table (``hub.app.catalogue``).

Every use-case is tried through every door that offers it — the API routes, web pages and
CLI commands that name it — by every kind of caller: anonymous, a bad token, an unknown
``--by``, an admin, a coordinator, a DPO and an agency. Whoever the table does not name is
refused, and a refusal stores nothing, queues nothing and logs nothing. Then every
use-case open to coordinators is tried by the coordinator of *another* area against the
north area's case, agency, meeting, action and held disclosure, through every door: refused
with an area rule's own problem type, the same way.

Nothing here lists who may do what: the table does. What is listed are the inputs a door
needs to aim a use-case at the north area (``AREA_PROBES``, ``WEB_PROBES``,
``CLI_PROBES``), and the test fails if a coordinator's route, page or command has none (a
new one must join the matrix), or lists for each coordinator only their own areas'.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.app.catalogue import USE_CASES, roles_of
from hub.cli import _SUBCOMMANDS, build_parser
from hub.crypto.request_signing import sign_request
from hub.delivery.tables import outbox
from hub.service.appkeys import ENGINE

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from agencykit import STAFF, HubThread, Kit, WebClient
from casekit import referral

ROLES = {"admin": "ada", "coordinator": "nora", "dpo": "dana"}
OTHER_AREA = "sam"  # the coordinator of south
REFUSED_TYPES = {
    "forbidden",
    "agency-outside-area",
    "recipient-outside-area",
    "case-outside-area",
}


# -- the hub --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reaches the serving hub's database and keys (as its operator would)."""
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    for name in ("DATABASE_URL", "POLICY_FILE", "CONFIG_FILE"):
        monkeypatch.delenv(f"MARAC_HUB_{name}", raising=False)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """Areas north and south, their staff, a north agency, case, meeting, action and a
    held disclosure (an override waiting for a second coordinator)."""
    hub = HubThread(tmp_path_factory.mktemp("matrix"))
    try:
        made = Kit(hub)
        made.seed()
        made.agency("police-north", ("north",))
        made.agency("police-south", ("south",))
        yield made
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def north(kit: Kit) -> dict[str, str]:
    """The north area's objects the probes aim at."""
    status, doc = kit.api(
        "POST", "/api/v1/cases", "nora", {"area": "north", "referral": referral()}
    )
    assert status == 201, doc
    ref = doc["case_ref"]
    status, doc = kit.api("POST", "/api/v1/meetings", "nora", {"area": "north", "date": _later(30)})
    assert status == 201, doc
    meeting = doc["id"]
    status, doc = kit.api("POST", f"/api/v1/meetings/{meeting}/cases", "nora", {"case_ref": ref})
    assert status in (200, 201), doc
    status, doc = kit.api(
        "POST",
        "/api/v1/actions",
        "nora",
        {
            "meeting": meeting,
            "case_ref": ref,
            "owner": "police-north",
            "description": "Check the address",
            "due_date": _later(10),
        },
    )
    assert status == 201, doc
    action = doc["action"]["id"]
    status, doc = kit.api(
        "POST",
        f"/api/v1/cases/{ref}/extracts",
        "nora",
        {
            "agency_id": "police-north",
            "widen": ["risk.answers"],
            "justification": "The officer needs the checklist for the visit",
        },
    )
    assert status == 202 and doc["status"] == "held", doc
    return {"ref": ref, "meeting": meeting, "action": action, "held": doc["held_id"]}


def _later(days: int) -> str:
    return date.fromordinal(date.today().toordinal() + days).isoformat()


def _state(kit: Kit) -> tuple[int, int]:
    """(log size, outbox rows): a refusal changes neither."""

    async def outbox_rows() -> int:
        async with kit.hub.hub.app[ENGINE].connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(outbox)) or 0)

    return kit.log_size(), kit.hub.run(outbox_rows())


# -- the doors, read from the code ----------------------------------------------------


def _api_routes(kit: Kit) -> list[tuple[str, str, str]]:
    """(use-case, method, path template) of every API route that names one."""
    found = []
    for route in kit.hub.hub.app.router.routes():
        name = getattr(route.handler, "use_case", None)
        if name is not None and route.method != "HEAD" and not hasattr(route.handler, "web_roles"):
            found.append((name, route.method, route.resource.canonical))
    return found


def _agency_readable(kit: Kit) -> set[tuple[str, str]]:
    """The staff routes an agency may call too (``agency_or_staff``)."""
    return {
        (route.method, route.resource.canonical)
        for route in kit.hub.hub.app.router.routes()
        if "agency" in getattr(route.handler, "roles", ())
    }


def _web_pages(kit: Kit) -> list[tuple[str, str, str]]:
    """(use-case, method, path template) of every web page that names one."""
    found = []
    for route in kit.hub.hub.app.router.routes():
        name = getattr(route.handler, "use_case", None)
        if name is not None and route.method != "HEAD" and hasattr(route.handler, "web_roles"):
            found.append((name, route.method, route.resource.canonical))
    return found


def _commands() -> list[tuple[str, list[str], argparse.ArgumentParser]]:
    """(use-case, argv prefix, parser) of every CLI command that names one."""
    parser = build_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _SUBCOMMANDS:
        module.register(sub)
    found: list[tuple[str, list[str], argparse.ArgumentParser]] = []

    def walk(node: argparse.ArgumentParser, prefix: list[str]) -> None:
        name = node.get_default("use_case")
        if name is not None:
            found.append((name, prefix, node))
        for action in node._actions:
            if isinstance(action, argparse._SubParsersAction):
                for word, child in action.choices.items():
                    walk(child, [*prefix, word])

    walk(parser, [])
    return found


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "nobody"), template)


def _argv(prefix: list[str], node: argparse.ArgumentParser, scratch: Path) -> list[str]:
    """``prefix`` and a value for every argument the command needs to reach its use-case
    (a file argument names ``scratch``)."""
    argv = list(prefix)
    for action in node._actions:
        if action.dest in ("help", "by") or isinstance(action, argparse._SubParsersAction):
            continue
        wants_file = action.dest.endswith("file") and action.option_strings
        if not (action.required or not action.option_strings or wants_file):
            continue
        if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
            continue
        value = _value(action, scratch)
        if action.option_strings:
            argv += [action.option_strings[0], value]
        else:
            argv.append(value)
    for group in node._mutually_exclusive_groups:  # (--to X | --all): the first
        if group.required:
            first = group._group_actions[0]
            argv.append(first.option_strings[0])
            if not isinstance(first, argparse._StoreTrueAction):
                argv.append(_value(first, scratch))
    return argv


def _value(action: argparse.Action, scratch: Path) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    if action.dest.endswith("file") or action.type is Path:
        return str(scratch)
    for candidate in ("nobody", "2026-01-01", "1", "M-2026-0001", "2026Q1"):
        try:
            if callable(action.type):
                action.type(candidate)
            return candidate
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            continue
    return "nobody"


# -- the table is complete ------------------------------------------------------------


def test_every_use_case_is_offered_by_a_door_and_every_door_names_a_real_one(kit: Kit) -> None:
    offered = {n for n, _, _ in _api_routes(kit)} | {n for n, _, _ in _web_pages(kit)}
    offered |= {n for n, _, _ in _commands()}
    offered |= {n for _, _, node in _commands() for n in node.get_default("also_use_cases") or ()}
    assert offered <= set(USE_CASES), sorted(offered - set(USE_CASES))
    assert set(USE_CASES) <= offered, f"offered by no door: {sorted(set(USE_CASES) - offered)}"


def test_each_api_route_and_web_page_is_guarded_by_its_use_cases_roles(kit: Kit) -> None:
    for route in kit.hub.hub.app.router.routes():
        name = getattr(route.handler, "use_case", None)
        if name is None:
            continue
        guard = getattr(route.handler, "web_roles", None) or route.handler.roles
        staff = tuple(role for role in guard if role != "agency")  # agency_or_staff routes
        assert staff == roles_of(name), (route.method, route.resource.canonical)


# -- who the table does not name is refused, through every door ------------------------


def _agency_call(kit: Kit, method: str, path: str) -> tuple[int, Any]:
    """A correctly signed request from the active north agency."""
    identity = kit.identities["police-north"]
    headers = sign_request(identity, "police-north", method, path, "", b"{}", now=datetime.now(UTC))

    async def go() -> tuple[int, Any]:
        async with kit.hub.http.request(
            method, kit.hub.url + path, data=b"{}", headers=dict(headers)
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    return kit.hub.run(go())


def test_the_api_refuses_every_caller_a_use_case_does_not_name(kit: Kit) -> None:
    routes = _api_routes(kit)
    assert len(routes) > 40
    before = _state(kit)
    refusals = 0
    for name, method, template in routes:
        roles, path = roles_of(name), _fill(template, {})
        for role, who in ROLES.items():
            if role in roles:
                continue
            status, doc = kit.api(method, path, who, {})
            assert (status, doc.get("type", "").rsplit("/", 1)[-1]) == (403, "forbidden"), (
                name,
                role,
                doc,
            )
            refusals += 1
        for caller in ("anonymous", "bad-token"):
            headers = {} if caller == "anonymous" else {"Authorization": "Bearer mht_x_y"}

            async def go(
                headers: dict[str, str] = headers, method: str = method, path: str = path
            ) -> tuple[int, Any]:
                async with kit.hub.http.request(
                    method, kit.hub.url + path, json={}, headers=headers
                ) as resp:
                    return resp.status, await resp.json(content_type=None)

            status, doc = kit.hub.run(go())
            assert status == 401 and doc["type"].endswith("/unauthorized"), (name, caller, doc)
            refusals += 1
        if (method, template) in _agency_readable(kit):
            continue  # an agency may read this route too (agency_or_staff)
        status, doc = _agency_call(kit, method, path)
        assert status == 401, (name, "agency", doc)  # staff routes take no signed request
        refusals += 1
    assert refusals > 150
    assert _state(kit) == before


def test_the_web_ui_refuses_every_caller_a_use_case_does_not_name(kit: Kit) -> None:
    pages = _web_pages(kit)
    assert len(pages) > 25
    sessions = {role: kit.web(who) for role, who in ROLES.items()}
    anonymous = WebClient(kit.hub)
    before = _state(kit)
    for name, method, template in pages:
        path = _fill(template, {})
        for role, client in sessions.items():
            if role in roles_of(name):
                continue
            status, body, _ = client.request(method, path, {"csrf": client.csrf})
            assert status == 403 and "Not allowed" in body, (name, role, method, path, status)
        status, _, resp = anonymous.request(method, path, {})
        if method == "GET":
            assert status == 303 and resp.headers["Location"].startswith("/login"), (name, path)
        else:
            assert status in (303, 403), (name, path, status)  # no session: nothing done
    assert _state(kit) == before
    for client in [*sessions.values(), anonymous]:
        client.close()


def test_the_cli_refuses_every_caller_a_use_case_does_not_name(
    kit: Kit, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    commands = _commands()
    assert len(commands) > 40
    before = _state(kit)
    scratch = tmp_path / "input"
    for name, prefix, node in commands:
        argv = _argv(prefix, node, scratch)
        for role, who in ROLES.items():
            if role in roles_of(name):
                continue
            for content in FILE_CONTENTS:  # JSON for most commands, TOML for a basis
                scratch.write_text(content)
                status, _, err = kit.cli(capsys, *argv, by=who)
                if "forbidden" in err:
                    break
            assert status == 1 and "forbidden" in err, (name, role, argv, err)
        for content in FILE_CONTENTS:
            scratch.write_text(content)
            status, _, err = kit.cli(capsys, *argv, by="nobody-at-all")
            if "unauthorized" in err:
                break
        assert status == 1 and "unauthorized" in err, (name, argv, err)
    assert _state(kit) == before


def test_the_cli_refuses_a_log_index_repair_to_every_caller_it_does_not_name(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    """``log verify --repair-index`` is a flag of a command named for ``log.verify``: the
    probe above does not set it, so its own use-case is probed here."""
    before = _state(kit)
    argv = ("log", "verify", "--repair-index")
    for role, who in ROLES.items():
        if role not in roles_of("log.repair-index"):
            status, _, err = kit.cli(capsys, *argv, by=who)
            assert status == 1 and "forbidden" in err, (role, err)
    status, _, err = kit.cli(capsys, *argv, by="nobody-at-all")
    assert status == 1 and "unauthorized" in err, err
    assert _state(kit) == before


FILE_CONTENTS = ("{}", '{"items": []}', 'id = "probe"\n')


# -- a coordinator of another area is refused, through every door ---------------------

# What each door needs to aim a coordinator's use-case at the north area. Placeholders in
# braces are filled with the north objects (``north`` fixture). ``api`` keys are
# (method, path template) of the route; the test fails if a coordinator's API route has
# no probe here.
AREA_PROBES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/cases"): {"body": {"area": "north", "referral": {}}},
    ("GET", "/api/v1/cases"): {"query": "?area=north"},
    ("GET", "/api/v1/cases/{ref}"): {},
    ("POST", "/api/v1/cases/{ref}/extracts"): {"body": {"agency_id": "police-north"}},
    ("POST", "/api/v1/notices"): {
        "body": {"to": "police-north", "text": "hello", "case_ref": "{ref}"}
    },
    ("POST", "/api/v1/held/{id}/approve"): {"id": "held"},
    ("POST", "/api/v1/held/{id}/reject"): {"id": "held"},
    ("POST", "/api/v1/agencies/{id}/approve"): {
        "id": "agency",
        "body": {"identity_fingerprint": "0" * 64},
    },
    ("POST", "/api/v1/agencies/{id}/suspend"): {"id": "agency"},
    ("POST", "/api/v1/agencies/{id}/reinstate"): {"id": "agency"},
    ("GET", "/api/v1/agencies/{id}/delivery"): {"id": "agency"},
    ("PUT", "/api/v1/agencies/{id}/delivery"): {
        "id": "agency",
        "body": {"transport": "mailbox", "format": "json"},
    },
    ("POST", "/api/v1/agencies/{id}/isp"): {
        "id": "agency",
        "body": {"version": "2026.1", "signed_by": "DMO", "signed_on": "2026-11-01"},
    },
    ("POST", "/api/v1/agencies"): {
        "body": {
            "id": "probe-agency",
            "name": "Probe",
            "kind": "police",
            "isp_version": "2026.1",
            "isp_signed_by": "DMO",
            "isp_signed_on": "2026-11-01",
            "areas": ["north"],
        }
    },
    ("POST", "/api/v1/meetings"): {"body": {"area": "north", "date": "2027-01-05"}},
    ("GET", "/api/v1/meetings"): {"query": "?area=north"},
    ("GET", "/api/v1/meetings/{id}"): {"id": "meeting"},
    ("GET", "/api/v1/meetings/{id}/candidates"): {"id": "meeting"},
    ("POST", "/api/v1/meetings/{id}/cases"): {"id": "meeting", "body": {"case_ref": "{ref}"}},
    ("DELETE", "/api/v1/meetings/{id}/cases/{ref}"): {"id": "meeting"},
    ("POST", "/api/v1/meetings/{id}/attendance"): {
        "id": "meeting",
        "body": {"agency": "police-north", "status": "attended"},
    },
    ("POST", "/api/v1/meetings/{id}/publish"): {"id": "meeting"},
    ("GET", "/api/v1/meetings/{id}/research"): {"id": "meeting"},
    ("POST", "/api/v1/meetings/{id}/minutes"): {"id": "meeting", "body": {"items": []}},
    ("POST", "/api/v1/actions"): {
        "body": {
            "meeting": "{meeting}",
            "case_ref": "{ref}",
            "owner": "police-north",
            "description": "probe",
            "due_date": "2027-01-05",
        }
    },
    ("GET", "/api/v1/actions"): {"query": "?area=north"},
    ("GET", "/api/v1/actions/{id}"): {"id": "action"},
    ("POST", "/api/v1/actions/{id}/updates"): {
        "id": "action",
        "body": {"status": "completed"},
    },
    ("POST", "/api/v1/cases/{ref}/amendments"): {"body": {"changes": {"rationale": "probe"}}},
    ("GET", "/api/v1/cases/{ref}/amendments"): {},
    ("POST", "/api/v1/meetings/{id}/move"): {"id": "meeting", "body": {"date": "2027-01-06"}},
    # last: the area's coordinator cancels the meeting (later probes are refused by area)
    ("POST", "/api/v1/meetings/{id}/cancel"): {"id": "meeting"},
}
# Coordinators' use-cases that filter rather than refuse (a coordinator of south sees
# none of north's), and those that are not about one area.
FILTERED = {
    ("GET", "/api/v1/agencies"): "agencies",
    ("GET", "/api/v1/held"): "held",
    ("GET", "/api/v1/alerts"): "alerts",
    ("GET", "/api/v1/areas"): "areas",
    ("GET", "/api/v1/isp"): "agencies",
    ("POST", "/api/v1/actions/chase"): "chased",  # chases the actions of one's own areas
}
NOT_AREA_BOUND = {
    ("GET", "/api/v1/log/head"),  # the signed head: no case, agency or area
    ("GET", "/api/v1/bases"),  # hub-wide lawful bases, public to staff
    ("GET", "/api/v1/policy"),
    ("GET", "/api/v1/policy/explain"),
    ("GET", "/api/v1/users/{name}/tokens"),  # one's own tokens (tests/app/test_staff_tokens)
    ("DELETE", "/api/v1/users/{name}/tokens"),
    ("DELETE", "/api/v1/users/{name}/tokens/{id}"),
}


def _north_values(north: dict[str, str]) -> dict[str, str]:
    return {**north, "agency": "police-north"}


def _substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{([a-z]+)\}", lambda m: values[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    return value


def test_the_api_refuses_a_coordinator_of_another_area(kit: Kit, north: dict[str, str]) -> None:
    values = _north_values(north)
    coordinators = [
        (name, method, template)
        for name, method, template in _api_routes(kit)
        if "coordinator" in roles_of(name)
    ]
    unprobed = {
        (m, t) for _, m, t in coordinators if (m, t) not in AREA_PROBES | FILTERED
    } - NOT_AREA_BOUND
    assert not unprobed, f"add these coordinators' routes to AREA_PROBES: {sorted(unprobed)}"
    for name, method, template in coordinators:
        probe = AREA_PROBES.get((method, template))
        if probe is None:
            continue
        path = _fill(template, {"ref": north["ref"], "id": values.get(probe.get("id", ""), "")})
        path += probe.get("query", "")
        body = _substitute(probe.get("body", {}), values)
        before = _state(kit)
        status, doc = kit.api(method, path, OTHER_AREA, body)
        kind = doc.get("type", "").rsplit("/", 1)[-1] if isinstance(doc, dict) else ""
        assert status == 403 and kind in REFUSED_TYPES, (name, path, status, doc)
        assert _state(kit) == before, (name, path)  # nothing stored, queued or logged
        # the coordinator of the area is not refused by the area rule
        status, doc = kit.api(method, path, "nora", body)
        kind = doc.get("type", "").rsplit("/", 1)[-1] if isinstance(doc, dict) else ""
        assert kind not in ("forbidden", "agency-outside-area", "case-outside-area"), (
            name,
            path,
            doc,
        )
    for (method, template), key in FILTERED.items():
        status, doc = kit.api(method, template, OTHER_AREA, {} if method == "POST" else None)
        assert status == 200, (template, doc)
        assert "north" not in str(doc[key]) or (
            key == "areas" and all(a["id"] != "north" for a in doc[key])
        ), (template, doc)


# The same for the web UI: (method, path template) -> the form it posts; and the pages
# that list (each coordinator sees their own areas' only).
WEB_PROBES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/cases/{ref}"): {},
    ("GET", "/meetings/{meeting}"): {},
    ("GET", "/actions/{action}"): {},
    ("POST", "/referrals/new"): {"area": "north"},
    ("POST", "/held/{held}/approve"): {},
    ("POST", "/held/{held}/reject"): {},
    ("POST", "/meetings"): {"area": "north", "date": "2027-01-05"},
    ("POST", "/meetings/{meeting}/cases"): {"case_ref": "{ref}"},
    ("POST", "/meetings/{meeting}/cases/remove"): {"case_ref": "{ref}"},
    ("POST", "/meetings/{meeting}/publish"): {},
    ("POST", "/meetings/{meeting}/cancel"): {"confirm": "yes"},
    ("POST", "/meetings/{meeting}/move"): {"date": "2027-01-06"},
    ("GET", "/cases/{ref}/amend"): {},
    ("POST", "/cases/{ref}/amend"): {"area": "north"},
    ("POST", "/meetings/{meeting}/attendance"): {"agency": "police-north", "status": "attended"},
    ("POST", "/meetings/{meeting}/actions"): {
        "case_ref": "{ref}",
        "owner": "police-north",
        "description": "probe",
        "due_date": "2027-01-05",
    },
    ("POST", "/meetings/{meeting}/minutes"): {},
    ("POST", "/actions/{action}"): {"status": "completed"},
    ("POST", "/agencies"): {
        "id": "probe-web",
        "name": "Probe",
        "kind": "police",
        "isp_version": "2026.1",
        "isp_signed_by": "DMO",
        "isp_signed_on": "2026-11-01",
        "area": "north",
    },
    ("POST", "/agencies/{agency}/approve"): {"fingerprint": "0" * 64},
    ("POST", "/agencies/{agency}/status"): {"change": "suspend"},
}
WEB_LISTS = {"/dashboard", "/meetings", "/actions", "/agencies", "/referrals/new"}  # own areas
# And for the command line: the command's words -> its arguments.
CLI_PROBES: dict[str, list[str]] = {
    "agency invite": [
        *("probe-cli", "--name", "Probe", "--kind", "police", "--isp-version", "2026.1"),
        *("--isp-signed-by", "DMO", "--isp-signed-on", "2026-11-01", "--area", "north"),
    ],
    "agency approve": ["police-north", "--fingerprint", "0" * 64],
    "agency suspend": ["police-north"],
    "agency reinstate": ["police-north"],
    "agency set-delivery": ["police-north", "--transport", "mailbox"],
    "agency delivery": ["police-north"],
    "isp sign": ["police-north", "--version", "2026.1", "--signed-by", "DMO"],
    "case refer": ["--area", "north", "--file", "{file}"],
    "case list": ["--area", "north"],
    "case show": ["{ref}"],
    "case hold": ["{ref}", "--reason", "probe"],
    "case amend": ["{ref}", "--set", "rationale=probe"],
    "case amendments": ["{ref}"],
    "meeting cancel": ["{meeting}"],
    "meeting move": ["{meeting}", "--date", "2027-01-06"],
    "case release": ["{ref}"],
    "report safelives": ["--quarter", "2026Q4", "--area", "north"],
    "meeting create": ["--area", "north", "--date", "2027-01-05"],
    "meeting list": ["--area", "north"],
    "meeting show": ["{meeting}"],
    "meeting candidates": ["{meeting}"],
    "meeting research": ["{meeting}"],
    "meeting add": ["{meeting}", "{ref}"],
    "meeting remove": ["{meeting}", "{ref}"],
    "meeting attend": ["{meeting}", "police-north", "--status", "attended"],
    "meeting publish": ["{meeting}"],
    "meeting minutes": ["{meeting}", "--file", "{file}"],
    "action add": [
        *("--meeting", "{meeting}", "--case", "{ref}", "--owner", "police-north"),
        *("--description", "probe", "--due", "2027-01-05"),
    ],
    "action update": ["{action}", "--status", "completed"],
    "action history": ["{action}"],
    "extract": ["{ref}", "--to", "police-north"],
    "held approve": ["{held}"],
    "held reject": ["{held}"],
    "send": ["--to", "police-north", "--text", "hello", "--case-ref", "{ref}"],
}
# Commands that list (a coordinator sees their own areas' only) or are not about an area.
CLI_LISTS = {
    "agency list",
    "isp status",
    "area list",
    "action list",
    "action chase",
    "held list",
    "alerts",
    "basis list",
    "basis show",
    "log head",
    "user token list",  # one's own tokens (tests/app/test_staff_tokens)
    "user token revoke",
}


def test_the_web_ui_refuses_a_coordinator_of_another_area(kit: Kit, north: dict[str, str]) -> None:
    values = _north_values(north)
    pages = [
        (name, method, template)
        for name, method, template in _web_pages(kit)
        if "coordinator" in roles_of(name)
    ]
    aimed = {(m, re.sub(r"\{[^}]+\}", "{}", t)) for m, t in WEB_PROBES}
    unprobed = {
        (m, t)
        for _, m, t in pages
        if (m, re.sub(r"\{[^}]+\}", "{}", t)) not in aimed and t not in WEB_LISTS
    }
    assert not unprobed, f"add these coordinators' pages to WEB_PROBES: {sorted(unprobed)}"
    web = kit.web(OTHER_AREA)
    for (method, template), form in WEB_PROBES.items():
        path = _substitute(template, values)
        before = _state(kit)
        status, body, _ = web.request(method, path, {"csrf": web.csrf, **_substitute(form, values)})
        assert status == 403 and "this form was not sent" not in body, (method, path, status)
        assert _state(kit) == before, (method, path)
    web.close()


def test_the_cli_refuses_a_coordinator_of_another_area(
    kit: Kit, north: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scratch = tmp_path / "input.json"
    values = {**_north_values(north), "file": str(scratch)}
    coordinators = {
        " ".join(prefix) for name, prefix, _ in _commands() if "coordinator" in roles_of(name)
    }
    unprobed = coordinators - set(CLI_PROBES) - CLI_LISTS
    assert not unprobed, f"add these coordinators' commands to CLI_PROBES: {sorted(unprobed)}"
    for words, arguments in CLI_PROBES.items():
        argv = [*words.split(), *_substitute(arguments, values)]
        before = _state(kit)
        for content in (json.dumps(referral()), '{"items": []}'):
            scratch.write_text(content)
            status, _, err = kit.cli(capsys, *argv, by=OTHER_AREA)
            if any(t in err for t in REFUSED_TYPES):
                break
        assert status == 1 and any(t in err for t in REFUSED_TYPES), (argv, err)
        assert _state(kit) == before, argv


def test_the_staff_of_the_matrix_are_what_the_kit_seeds() -> None:
    assert {who: STAFF[who][0] for who in ROLES.values()} == {v: k for k, v in ROLES.items()}
    assert STAFF[OTHER_AREA] == ("coordinator", ("south",))
