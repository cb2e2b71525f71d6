"""The README's first message and docs/first-meeting.md, run as written.

Each command of the documents' ``sh`` blocks runs as a process, in order, against a real
hub served on loopback with real agency clients; only what a reader fills in is filled in
(the enrolment code, the fingerprint read out, ids the hub printed, the port, and for the
meeting the dates, moved from the document's to the weeks ahead of today)."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMEOUT = 180.0


def section(path: Path, heading: str) -> str:
    """The text of the section under ``heading`` (to the next heading of its level)."""
    text = path.read_text(encoding="utf-8")
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) :]
    end = re.search(rf"^{re.escape(level)} ", rest, flags=re.MULTILINE)
    return rest if end is None else rest[: end.start()]


def commands(text: str) -> list[str]:
    """Each command of the ``sh`` blocks in ``text``: continuations joined, output
    comments (``# …`` lines) and blank lines left out."""
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", "", "\n".join(line.strip() for line in block.splitlines()))
        found += [line for line in joined.splitlines() if line and not line.startswith("#")]
    return found


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Shell:
    """Runs command lines as a user would type them, in one environment: ``export``
    lines set it, ``~`` and ``$HOME`` are ``home``, ``.venv/bin/`` is this venv's."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = {**os.environ, "HOME": str(home), **env}
        self.env.pop("MARAC_HUB_DATABASE_URL", None)
        self.env.pop("MARAC_HUB_CONFIG_FILE", None)
        self.background: list[subprocess.Popen[str]] = []

    def argv(self, line: str) -> list[str]:
        """``line`` as the shell would split and expand it."""
        words = shlex.split(line, comments=True)
        return [self._expand(word) for word in words]

    def _expand(self, word: str) -> str:
        word = word.replace("$HOME", str(self.home))
        if word.startswith("~/") or word == "~":
            word = str(self.home) + word[1:]
        if word.startswith(".venv/bin/"):
            return str(BIN / word.removeprefix(".venv/bin/"))
        return str(BIN / word) if word in {"marac-hub", "agency-client"} else word

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        """Run ``line`` to its end (an ``export`` sets the environment)."""
        if line.startswith("export "):
            name, _, value = " ".join(self.argv(line)[1:]).partition("=")
            self.env[name] = value
            return subprocess.CompletedProcess(line, 0, "", "")
        return subprocess.run(
            self.argv(line),
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.home,
            timeout=TIMEOUT,
            check=False,
        )

    def start(self, line: str, ready: Callable[[str], bool], *, stderr: bool = False) -> str:
        """Start ``line`` in the background; return its first output line ``ready``
        accepts (read from stderr if ``stderr``)."""
        log = self.home / f"background-{len(self.background)}.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                self.argv(line),
                stdout=subprocess.PIPE if not stderr else sink,
                stderr=subprocess.PIPE if stderr else sink,
                text=True,
                env=self.env,
                cwd=self.home,
            )
        self.background.append(process)
        stream = process.stderr if stderr else process.stdout
        assert stream is not None
        deadline = time.monotonic() + TIMEOUT
        seen = []
        while time.monotonic() < deadline:
            got = stream.readline()
            if not got:
                break
            seen.append(got)
            if ready(got):
                return got
        raise AssertionError(f"{line!r} never became ready: {''.join(seen)}{log.read_text()}")

    def stop(self) -> None:
        """Stop what was started in the background, newest first."""
        for process in reversed(self.background):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        self.background.clear()


@contextmanager
def shell(home: Path, env: dict[str, str]) -> Iterator[Shell]:
    """A :class:`Shell` whose background processes are stopped at the end."""
    sh = Shell(home, env)
    try:
        yield sh
    finally:
        sh.stop()


def wait_for(found: Callable[[], bool], what: str) -> None:
    """Wait (generously) until ``found()``."""
    deadline = time.monotonic() + TIMEOUT
    while not found():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


README = ROOT / "README.md"


def test_the_readme_first_message_from_init_reaches_the_agency(tmp_path: Path) -> None:
    """The README's "A first message" after ``marac-hub init``, exactly as written, ends
    with the notice in the agency's folder sink; each step says what it did."""
    steps = commands(section(README, "## A first message, step by step"))
    port = free_port()
    env = {
        "MARAC_HUB_DATA_DIR": str(tmp_path / "hub"),
        "MARAC_HUB_PORT": str(port),
        "MARAC_HUB_KEY_FILE_STRENGTH": "interactive",
    }
    with shell(tmp_path, env) as sh:
        code = fingerprint = ""
        for step in steps:
            line = (
                step.replace("127.0.0.1:8470", f"127.0.0.1:{port}")
                .replace("'police-north:…'", shlex.quote(code))
                .replace("<identity fingerprint>", fingerprint)
            )
            if " serve" in line:
                sh.start(line, lambda out: out.startswith("marac-hub serving on"))
                continue
            if "agency-client run" in line:
                sh.start(line, lambda err: "connected" in err and "waiting" in err, stderr=True)
                continue
            done = sh.run(line)
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            if " agency invite " in line:
                code = done.stdout.split()[-1]
            elif " enrol " in line:
                fingerprint = re.findall(r"agency identity\s+ed25519\s+(\w+)", done.stdout)[0]
            elif " agency approve " in line:
                assert "now receives what it is sent" in done.stdout, done.stdout
            elif " send " in line:
                assert "queued" in done.stdout and "not sent" not in done.stdout, done.stdout
        assert code and fingerprint, "the README no longer invites and enrols"
        inbox = tmp_path / "marac-inbox"
        wait_for(lambda: any(inbox.glob("*.json")), "the notice in the folder sink")
        (message,) = inbox.glob("*.json")
        assert "Agenda for 3 December is out." in message.read_text()


FIRST_MEETING = ROOT / "docs" / "first-meeting.md"


def _referral(n: int) -> dict[str, object]:
    """The n-th referral of docs/referrals.md's shape (the document's referral.json)."""
    return {
        "referring_agency": "police-north",
        "referred_on": (date.today() - timedelta(days=n)).isoformat(),
        "victim": {"name": f"Victim Number{n}", "date_of_birth": "1990-04-02"},
        "perpetrator": {"name": f"Perp Number{n}", "date_of_birth": "1988-01-20"},
        "children": [],
        "risk": {"tool": "DASH", "answers": ["yes"] * 14 + ["no"] * 10},
        "criterion": "visible_high_risk",
        "consent": {"status": "sought_given"},
        "safe_contact": {"safe_to_contact": False},
        "perpetrator_must_not_know": False,
    }


ANSWER = {
    "nothing_known": False,
    "items": [{"text": "Two call-outs this year", "kind": "fact", "recorded_on": "2026-01-02"}],
    "withheld": [],
}


def test_every_command_of_first_meeting_md_runs_as_written(tmp_path: Path) -> None:
    """docs/first-meeting.md, steps 1-7, in order: each command succeeds. Its world is
    made first (hub, ISP, agencies; housing-north enrolled at ~/marac, the DMO's client
    fetching with ``run --once`` before it answers); ids and dates are filled in."""
    text = FIRST_MEETING.read_text(encoding="utf-8")
    steps = commands(text)
    today = date.today()
    fill = {
        "2026-10-08": (today + timedelta(days=14)).isoformat(),
        "2026-10-05": (today + timedelta(days=10)).isoformat(),
        "2026-10-22": (today + timedelta(days=28)).isoformat(),
    }
    minutes = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)[0]
    port = free_port()
    env = {
        "MARAC_HUB_DATA_DIR": str(tmp_path / "hub"),
        "MARAC_HUB_PORT": str(port),
        "MARAC_HUB_KEY_FILE_STRENGTH": "interactive",
    }
    with shell(tmp_path, env) as sh:

        def must(line: str) -> str:
            for doc_value, value in fill.items():
                line = line.replace(doc_value, value)
            done = sh.run(line)
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            return done.stdout

        must("marac-hub init")
        sh.start("marac-hub serve", lambda out: out.startswith("marac-hub serving on"))
        must("marac-hub isp publish 2026.1 --title ISP")
        codes = {}
        for agency, kind in (("police-north", "police"), ("education-north", "education")):
            codes[agency] = must(
                f"marac-hub agency invite {agency} --name {agency} --kind {kind} "
                "--isp-version 2026.1 --isp-signed-by DMO --isp-signed-on 2026-11-01"
            ).split()[-1]
        codes["housing-north"] = must(
            "marac-hub agency invite housing-north --name Housing --kind housing "
            "--isp-version 2026.1 --isp-signed-by DMO --isp-signed-on 2026-11-01"
        ).split()[-1]
        sh.env["AGENCY_CLIENT_PASSPHRASE"] = "a long passphrase"
        enrolled = must(
            f"agency-client enrol --hub http://127.0.0.1:{port} --dir ~/marac "
            f"--code {codes['housing-north']}"
        )
        housing = re.findall(r"agency identity\s+ed25519\s+(\w+)", enrolled)[0]
        must(f"marac-hub agency approve housing-north --fingerprint {housing}")
        (tmp_path / "answer.json").write_text(json.dumps(ANSWER))
        refs: list[str] = []
        for line in steps:
            if "case refer" in line:
                for n in range(1, 8):  # M-…-0001 to M-…-0007, as the document uses
                    (tmp_path / "referral.json").write_text(json.dumps(_referral(n)))
                    refs.append(must(line).split()[0])
                fill |= {"M-2026-0001": refs[0], "M-2026-0007": refs[6]}
                continue
            if "agency-client " in line:  # the DMO's client has fetched what was sent
                must("agency-client run --once --dir ~/marac")
            if "meeting remove" in line:  # it was on the agenda
                must(f"marac-hub meeting add {fill['01J9Z…']} {refs[6]} --by nora")
            if "meeting minutes" in line:
                for doc_value, value in fill.items():
                    minutes = minutes.replace(doc_value, value)
                (tmp_path / "minutes.json").write_text(minutes)
            out = must(line)
            if "meeting create" in line:
                fill["01J9Z…"] = out.split()[1]
            elif "action add" in line:
                fill["01JA0…"] = out.split()[1]
            elif "area add-agency north police-north" in line:  # "once per agency"
                must("marac-hub area add-agency north education-north")
                must("marac-hub area add-agency north housing-north")
        assert len(refs) == 7 and "01JA0…" in fill, "the document no longer refers or acts"
        history = must(f"marac-hub action history {fill['01JA0…']}")
        assert "in_progress" in history and "completed" in history, history
