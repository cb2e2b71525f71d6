"""``marac-hub demo`` (what ``make run`` runs): a newcomer finds a real meeting.

The demo runs as a process, as ``make run`` starts it (its own data directory and port);
what it seeded is read back over the API as the coordinator it names, with the API token
it wrote for her, and it says how to sign in. In a real Chromium the coordinator and the
DPO sign in as the demo tells them (password, then an authenticator app at the first
sign-in) and its pages are checked: none wider than the window, no raw timestamp or
snake_case code in their text, each chart's axis reaching its tallest bar. A second start
reuses what the first made.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.test_first_message import BIN, TIMEOUT, free_port

READY = "Stop with Ctrl-C."


@dataclass
class Demo:
    """A running demo: its data directory, URL and everything it printed."""

    data: Path
    url: str
    output: str
    process: subprocess.Popen[str]

    def staff(self) -> dict[str, list[str]]:
        """The staff file it wrote: user -> [role, web password, API token]."""
        text = (self.data / "demo-staff.txt").read_text()
        rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
        return {row[0]: row[1:] for row in rows}

    def get(self, path: str, user: str = "nora") -> Any:
        """GET ``path`` of the API as ``user`` (their bearer token)."""
        token = self.staff()[user][2]
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)


def _start(data: Path, port: int) -> Demo:
    env = {**os.environ, "MARAC_HUB_KEY_FILE_STRENGTH": "interactive"}
    env.pop("MARAC_HUB_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(BIN / "marac-hub"), "--data-dir", str(data), "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:  # each line as it comes; the demo then serves until stopped
        seen.append(line)
        if READY in line:
            return Demo(data, f"http://127.0.0.1:{port}", "".join(seen), process)
    process.wait(TIMEOUT)
    raise AssertionError(f"the demo ended before it was ready:\n{''.join(seen)}")


def _stop(demo: Demo) -> None:
    demo.process.terminate()
    try:
        demo.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        demo.process.kill()
        demo.process.wait()
    if demo.process.stdout is not None:
        demo.process.stdout.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo, started once on a fresh data directory."""
    running = _start(tmp_path_factory.mktemp("demo") / "data", free_port())
    try:
        yield running
    finally:
        _stop(running)


def _meeting_id(demo: Demo) -> str:
    found = re.search(r"/meetings/(\w+)", demo.output)
    assert found, demo.output
    return found.group(1)


def test_the_demo_says_how_to_sign_in_and_where_the_agency_workspace_is(demo: Demo) -> None:
    out = demo.output
    assert f"Sign in at {demo.url}/login" in out
    assert f"{demo.data}/demo-staff.txt" in out
    staff = demo.staff()
    assert {name: row[0] for name, row in staff.items()} == {
        "nora": "coordinator",
        "dara": "dpo",
        "admin": "admin",
    }
    assert stat.S_IMODE((demo.data / "demo-staff.txt").stat().st_mode) == 0o600
    for name in staff:
        assert re.search(rf"^  {name} ", out, flags=re.MULTILINE), name
    assert "second factor" in out and "authenticator app" in out
    assert f"agency-client ui --dir {demo.data}/demo-clients/idva-demo" in out
    assert "every name in it is fictional" in out


def test_the_coordinator_sees_the_published_agenda_with_its_cases(demo: Demo) -> None:
    meeting_id = _meeting_id(demo)
    [listed] = demo.get("/api/v1/meetings?area=demo-north")["meetings"]
    assert listed["id"] == meeting_id
    meeting = demo.get(f"/api/v1/meetings/{meeting_id}")
    assert meeting["published_at"] is not None and meeting["minutes_at"] is None
    agenda = meeting["agenda"]
    assert len(agenda) == 7
    assert [c["has_children"] for c in agenda][:3] == [True] * 3  # children's cases first
    assert sum(c["is_repeat"] for c in agenda) == 1
    assert sum(c["perpetrator_must_not_know"] for c in agenda) == 1
    assert any(c["breached"] for c in agenda)
    assert meeting["attendance"] == {
        "police-demo": "attended",
        "idva-demo": "attended",
        "housing-demo": "apologies",
    }


def test_the_coordinator_sees_a_dozen_referrals_with_a_repeat(demo: Demo) -> None:
    cases = demo.get("/api/v1/cases?area=demo-north")["cases"]
    assert len(cases) == 12
    [repeat] = [c for c in cases if c["is_repeat"]]
    assert repeat["previous_ref"] in {c["ref"] for c in cases}
    assert sum(c["has_children"] for c in cases) >= 4
    assert [c["criterion"] for c in cases].count("professional_judgement") == 1


def test_research_answered_by_the_agencies_own_clients_is_there(demo: Demo) -> None:
    research = demo.get(f"/api/v1/meetings/{_meeting_id(demo)}/research")
    answers = [(r["agency"], c["case_ref"]) for c in research["cases"] for r in c["responses"]]
    assert sorted(a for a, _ref in answers) == ["idva-demo"] * 2 + ["police-demo"] * 3
    for case in research["cases"]:
        assert "housing-demo" in case["not_responded"]
    police = [r for c in research["cases"] for r in c["responses"] if r["agency"] == "police-demo"]
    assert police[0]["facts"] and police[0]["opinions"] and police[0]["withheld"]


def test_the_actions_agreed_are_there_with_their_owners(demo: Demo) -> None:
    actions = demo.get("/api/v1/actions?area=demo-north")["actions"]
    assert sorted(a["owner"] for a in actions) == [
        "housing-demo",
        "idva-demo",
        "idva-demo",
        "police-demo",
    ]
    assert {a["meeting_id"] for a in actions} == {_meeting_id(demo)}
    assert all(a["status"] == "open" and a["description"] for a in actions)


def test_the_dpo_reads_the_meeting_but_not_the_research(demo: Demo) -> None:
    assert demo.get(f"/api/v1/meetings/{_meeting_id(demo)}", user="dara")["agenda"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        demo.get(f"/api/v1/meetings/{_meeting_id(demo)}/research", user="dara")
    refused.value.close()
    assert refused.value.code == 403


# Text on the pages that should have gone through the labels table or a date filter.
RAW_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# The main text as a reader sees it: not code, raw bytes, form controls or drawings.
MAIN_TEXT = """() => {
  const main = document.querySelector("main").cloneNode(true);
  main.querySelectorAll("code, pre, select, input, textarea, svg, script").forEach(
    (n) => n.remove());
  return main.innerText;
}"""
WIDTHS = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
# Per chart: the y of its highest gridline (the axis' top) and of its tallest bar's top.
CHART_TOPS = """() => [...document.querySelectorAll("svg[role=img]")].map((svg) => {
  const lines = [...svg.querySelectorAll("line[stroke='#b1b4b6']")].map(
    (l) => +l.getAttribute("y1"));
  const bars = [...svg.querySelectorAll("rect")].filter((r) => r.querySelector("title"));
  return [Math.min(...lines), Math.min(...bars.map((r) => +r.getAttribute("y")))];
})"""


def _sign_in_first_time(browse: Any, demo: Demo, user: str) -> Any:
    """Sign in as the demo says: the password from the staff file, then set up an
    authenticator app from the secret shown, enter its code, keep the recovery codes."""
    page = browse.new_page()
    page.goto(demo.url + "/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(demo.staff()[user][1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/enrol**")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name="I have kept them: carry on").click()
    return page


def _check_page(page: Any, path: str) -> str:
    """Open ``path``; no wider than the window, no raw timestamp or code in its text."""
    page.goto(path)
    width, window = page.evaluate(WIDTHS)
    assert width <= window, f"{path} is {width} px wide in a {window} px window"
    text: str = page.evaluate(MAIN_TEXT)
    assert not RAW_TIMESTAMP.findall(text), (path, RAW_TIMESTAMP.findall(text))
    assert not SNAKE_CASE.findall(text), (path, SNAKE_CASE.findall(text))
    return text


@pytest.fixture
def browse(browser: Any, demo: Demo) -> Iterator[Any]:
    """A fresh browser context on the demo (as wide as a laptop's window)."""
    context = browser.new_context(base_url=demo.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


def test_the_coordinator_signs_in_as_told_and_reads_the_meeting(browse: Any, demo: Demo) -> None:
    page = _sign_in_first_time(browse, demo, "nora")
    page.wait_for_url("**/dashboard")
    meeting = _check_page(page, f"/meetings/{_meeting_id(demo)}")
    assert "Two call-outs to the address this year (demo)." in meeting  # research
    assert "Fit additional locks and a door alarm (demo)" in meeting  # an action
    cases = demo.get("/api/v1/cases?area=demo-north")["cases"]
    restricted = next(c["ref"] for c in cases if c["perpetrator_must_not_know"])
    repeat = next(c["ref"] for c in cases if c["is_repeat"])
    for path in ("/dashboard", "/meetings", "/actions", "/agencies", f"/cases/{repeat}"):
        _check_page(page, path)
    case = _check_page(page, f"/cases/{restricted}")
    assert "Yes: restricted disclosures only" in case
    assert "Sought and given" in case or "Not sought" in case
    action = demo.get("/api/v1/actions?area=demo-north")["actions"][0]["id"]
    _check_page(page, f"/actions/{action}")


def test_the_dpo_reads_the_log_its_entries_and_charts(browse: Any, demo: Demo) -> None:
    page = _sign_in_first_time(browse, demo, "dara")
    page.wait_for_url("**/log")
    _check_page(page, "/log")
    last = page.locator("a[href^='/log/entries/']").first.get_attribute("href")
    entry = _check_page(page, last)  # its logged bytes wrap: no wider than the window
    assert "The proof checks out" in entry
    for path in ("/log/integrity", "/log/reviews", "/retention", "/log/subject"):
        _check_page(page, path)
    _check_page(page, "/log/charts")
    tops = page.evaluate(CHART_TOPS)
    assert tops, "no chart on the charts page"
    for axis_top, tallest_bar in tops:
        if tallest_bar != float("inf"):  # a chart with no bar has nothing to reach
            assert axis_top <= tallest_bar + 0.5, (axis_top, tallest_bar)


def test_the_agency_workspace_command_it_prints_opens_the_idva_workspace(
    browse: Any, demo: Demo
) -> None:
    """The printed ``agency-client ui`` line, run as written (``.venv/bin/`` is this venv):
    its one-time link opens the IDVA's workspace, unlocked with the printed passphrase."""
    [line] = [x.strip() for x in demo.output.splitlines() if "agency-client ui " in x]
    passphrase = re.search(r"asks for the key passphrase,\s*'([^']+)'", demo.output)
    assert passphrase, demo.output
    argv = line.split()
    argv[0] = str(BIN / "agency-client")
    env = {k: v for k, v in os.environ.items() if k != "AGENCY_CLIENT_PASSPHRASE"}
    ui = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert ui.stdout is not None
        link = re.search(r"open (http://127\.0\.0\.1:\d+/open\?token=\S+)", ui.stdout.readline())
        assert link, "no link"
        page = browse.new_page()
        page.goto(link.group(1))
        page.get_by_label("Key passphrase").fill(passphrase.group(1))
        page.get_by_role("button", name="Unlock").click()
        page.wait_for_load_state()
        assert "Unlock" not in page.title()
        text = page.locator("main").inner_text()
        assert "research" in text.lower(), text[:500]
    finally:
        ui.terminate()
        ui.wait(30)
        if ui.stdout is not None:
            ui.stdout.close()


def test_a_second_start_reuses_the_demo_it_made(demo: Demo) -> None:
    """Last in the module: it restarts the demo on the same data directory and port."""
    first = _meeting_id(demo)
    _stop(demo)
    again = _start(demo.data, int(demo.url.rsplit(":", 1)[1]))
    demo.process, demo.output = again.process, again.output
    assert "making the demo's meeting" not in again.output
    assert _meeting_id(again) == first
    assert len(demo.get("/api/v1/cases?area=demo-north")["cases"]) == 12


def test_a_demo_half_made_says_so_in_one_line_and_how_to_start_afresh(demo: Demo) -> None:
    """After the others: a data directory whose demo meeting was not recorded as made."""
    _stop(demo)
    (demo.data / "demo-seeded.json").unlink()
    env = {**os.environ, "MARAC_HUB_KEY_FILE_STRENGTH": "interactive"}
    env.pop("MARAC_HUB_DATABASE_URL", None)
    port = demo.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [str(BIN / "marac-hub"), "--data-dir", str(demo.data), "demo", "--port", port],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("marac-hub: ") and "remove that directory" in line, line


def test_the_demo_agencies_witness_the_log_so_the_dpos_verify_passes(demo: Demo) -> None:
    """The demo's agencies cosign its checkpoints (``agency-client witness``) before it
    says it is ready, and every five minutes after: ``log verify``, as the demo tells the
    DPO to run it, names a witness quorum rather than failing half an hour later."""
    assert f"marac-hub --data-dir {demo.data} log verify" in demo.output
    done = subprocess.run(
        [str(BIN / "marac-hub"), "--data-dir", str(demo.data), "log", "verify"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert re.search(r"witnessed at \d+ by \S+-demo, \S+-demo", line), line
