"""The command lines' rough edges (issue 25): abbreviations, help, busy ports, closed
pipes, the acting person's flag, the hub's fingerprints, failed enrolments, ``run``."""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import agency_client.cli as agency_cli
import hub.cli as hub_cli
from tests.engines import SyncPostgres
from tests.test_first_message import BIN, Shell, free_port, shell

FAST = {"MARAC_HUB_KEY_FILE_STRENGTH": "interactive"}


def _subcommands(module: ModuleType) -> Iterator[tuple[list[str], str | None]]:
    """Every subcommand path of a CLI and its one-line help, from its real parser."""
    parser = module.build_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in module._SUBCOMMANDS:
        command.register(sub)

    def walk(
        at: argparse.ArgumentParser, path: list[str]
    ) -> Iterator[tuple[list[str], str | None]]:
        for action in at._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    yield [*path, choice.dest], choice.help
                    yield from walk(action.choices[choice.dest], [*path, choice.dest])

    yield from walk(parser, [])


CLIS = [pytest.param(hub_cli, id="marac-hub"), pytest.param(agency_cli, id="agency-client")]


@pytest.mark.parametrize("module", CLIS)
def test_every_subcommand_says_what_it_does(
    module: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each subcommand has a line in its parent's list and a description in its --help."""
    found = list(_subcommands(module))
    assert len(found) > 5
    for path, summary in found:
        assert summary, f"{' '.join(path)} has no help text"
        with pytest.raises(SystemExit) as done:
            module.main([*path, "--help"])
        assert done.value.code == 0
        described = capsys.readouterr().out.split("\n\n")[1]  # after the usage
        assert not described.startswith(("positional arguments:", "options:")), path


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        (hub_cli, ["send", "--al", "--text", "hi"]),
        (hub_cli, ["agency", "invite", "x", "--nam", "X", "--kind", "police"]),
        (agency_cli, ["inbox", "--di", "somewhere"]),
    ],
)
def test_abbreviated_send_al_does_not_send_to_every_agency(
    module: ModuleType, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``send --al`` once meant ``--all``: an abbreviation is now refused, everywhere."""
    with pytest.raises(SystemExit) as done:
        module.main(argv)
    assert done.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("hub") / "data"
    done = _hub(data, "init")
    assert done.returncode == 0, done.stderr
    return data


def _hub(
    data: Path, *argv: str, stdout: int = subprocess.PIPE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``marac-hub --data-dir data ARGV`` on SQLite, or as ``env`` says."""
    base = {**os.environ, **FAST}
    base.pop("MARAC_HUB_DATABASE_URL", None)
    env = {**base, **(env or {})}
    return subprocess.run(
        [str(BIN / "marac-hub"), "--data-dir", str(data), *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


def test_serve_on_a_busy_port_is_one_line_not_a_traceback(hub_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _hub(hub_dir, "serve", "--port", str(port), "--log-format", "text")
    assert done.returncode == 1
    assert "serving on" not in done.stdout
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("marac-hub: ") and f"cannot serve on http://127.0.0.1:{port}" in last


@pytest.mark.parametrize("taken_with_reuse_port", [False, True])
def test_serve_workers_on_a_busy_port_is_one_line_not_a_traceback(
    tmp_path: Path, taken_with_reuse_port: bool
) -> None:
    """``serve --workers 2`` (PostgreSQL) on a port something listens on: one line, exit 1,
    no worker started. With ``SO_REUSEPORT`` on the listener (another hub's workers) the
    workers could have bound beside it and shared its connections."""
    postgres = SyncPostgres()
    try:
        data = tmp_path / "data"
        env = {"MARAC_HUB_DATABASE_URL": postgres.url}
        assert _hub(data, "init", env=env).returncode == 0
        with socket.socket() as taken:
            if taken_with_reuse_port:
                taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = _hub(data, "serve", "--port", str(port), "--workers", "2", env=env)
    finally:
        postgres.close()
    assert done.returncode == 1, done.stderr
    assert "serving on" not in done.stdout
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("marac-hub: ") and f"cannot serve on http://127.0.0.1:{port}:" in line


def test_log_export_into_a_closed_pipe_is_one_line_not_a_broken_pipe_traceback(
    hub_dir: Path,
) -> None:
    """``marac-hub log export … | head``: the reader goes away before the writer ends."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = _hub(hub_dir, "log", "export", "--format", "jsonl", stdout=writer)
    finally:
        os.close(writer)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "broken pipe" in done.stderr, done.stderr


def test_by_names_the_acting_person_and_actor_is_a_hidden_alias(hub_dir: Path) -> None:
    shown = _hub(hub_dir, "case", "refer", "--help").stdout
    assert "--by USER" in shown and "--actor" not in shown
    for flag in ("--by", "--actor"):
        done = _hub(hub_dir, "agency", "list", flag, "nobody")
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert "nobody" in done.stderr


def test_invite_refuses_an_unpublished_isp_and_names_the_command(hub_dir: Path) -> None:
    invite = ["agency", "invite", "police-x", "--name", "X", "--kind", "police"]
    invite += ["--isp-version", "2031.9", "--isp-signed-by", "DMO", "--isp-signed-on", "2026-01-01"]
    done = _hub(hub_dir, *invite)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "not published" in done.stderr and "marac-hub isp publish 2031.9" in done.stderr
    assert "police-x" not in _hub(hub_dir, "agency", "list").stdout


def _fingerprint(label: str, text: str) -> str:
    found = re.search(rf"^{label}\s+(?:ed25519\s+)?([0-9a-f]{{64}})", text, flags=re.MULTILINE)
    assert found, text
    return found.group(1)


def test_a_failed_enrolment_leaves_no_keys_so_a_retry_works(tmp_path: Path) -> None:
    """A wrong code, then the right one with another passphrase: the retry enrols, its
    hub fingerprint is the one ``hub show`` prints, and ``run`` says it is waiting."""
    port = free_port()
    env = {"MARAC_HUB_DATA_DIR": str(tmp_path / "hub"), "MARAC_HUB_PORT": str(port), **FAST}
    with shell(tmp_path, env) as sh:
        must(sh, "marac-hub init")
        sh.start("marac-hub serve", lambda out: out.startswith("marac-hub serving on"))
        must(sh, "marac-hub isp publish 2026.1 --title ISP")
        invite = "marac-hub agency invite police-north --name Police --kind police "
        invite += "--isp-version 2026.1 --isp-signed-by DMO --isp-signed-on 2026-11-01"
        code = must(sh, invite).split()[-1]
        wrong = code.rsplit(":", 1)[0] + ":" + "A" * len(code.rsplit(":", 1)[1])
        enrol = f"agency-client enrol --hub http://127.0.0.1:{port} --dir ~/marac --code "
        sh.env["AGENCY_CLIENT_PASSPHRASE"] = "the first passphrase"
        failed = sh.run(enrol + wrong)
        assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
        assert not (tmp_path / "marac").exists(), list((tmp_path / "marac").rglob("*"))
        sh.env["AGENCY_CLIENT_PASSPHRASE"] = "another passphrase"
        enrolled = must(sh, enrol + code)
        shown = must(sh, "marac-hub hub show")
        assert _fingerprint("hub identity", enrolled) == _fingerprint("hub identity", shown)
        assert _fingerprint("hub encryption", shown)
        agency = _fingerprint("agency identity", enrolled)
        approved = must(sh, f"marac-hub agency approve police-north --fingerprint {agency}")
        assert "now receives what it is sent" in approved
        waiting: Callable[[str], bool] = lambda err: "connected" in err  # noqa: E731
        line = sh.start("agency-client run --dir ~/marac", waiting, stderr=True)
        assert line.strip() == (
            f"agency-client: connected to http://127.0.0.1:{port} as police-north; "
            "waiting for messages (Ctrl-C stops)"
        )


def test_approve_says_an_agency_without_the_current_isp_receives_nothing(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {"MARAC_HUB_DATA_DIR": str(tmp_path / "hub"), "MARAC_HUB_PORT": str(port), **FAST}
    with shell(tmp_path, env) as sh:
        must(sh, "marac-hub init")
        sh.start("marac-hub serve", lambda out: out.startswith("marac-hub serving on"))
        must(sh, "marac-hub isp publish 2026.1 --title ISP")
        invite = "marac-hub agency invite police-north --name Police --kind police "
        invite += "--isp-version 2026.1 --isp-signed-by DMO --isp-signed-on 2026-11-01"
        code = must(sh, invite).split()[-1]
        must(sh, "marac-hub isp publish 2027.1 --title 'ISP, revised'")
        sh.env["AGENCY_CLIENT_PASSPHRASE"] = "a passphrase"
        enrolled = must(
            sh, f"agency-client enrol --hub http://127.0.0.1:{port} --dir d --code {code}"
        )
        agency = _fingerprint("agency identity", enrolled)
        approved = must(sh, f"marac-hub agency approve police-north --fingerprint {agency}")
        assert "has not signed the current ISP" in approved and "receives nothing" in approved
        sent = sh.run("marac-hub send --all --text 'Agenda out'")
        assert sent.returncode == 1, sent.stdout + sent.stderr
        assert "not sent to police-north: isp-not-signed" in sent.stdout
        assert "nothing sent" in sent.stderr
        must(sh, "marac-hub isp sign police-north --version 2027.1 --signed-by DMO")
        sent = sh.run("marac-hub send --all --text 'Agenda out'")
        assert sent.returncode == 0 and "queued" in sent.stdout, sent.stdout + sent.stderr


def must(sh: Shell, line: str) -> str:
    """Run ``line``; it succeeds; its output."""
    done = sh.run(line)
    assert done.returncode == 0, (line, done.stdout, done.stderr)
    return done.stdout


def test_each_command_is_found_in_the_module_that_registers_it() -> None:
    """``marac-hub`` imports only the module of the command it is given: its table of
    commands is each module's own registrations, in ``--help``'s order, none missing."""
    found: dict[str, str] = {}
    for name in hub_cli._MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"hub.cli.{name}").register(sub)
        found |= dict.fromkeys(sub.choices, name)
    assert found == hub_cli._COMMANDS
    assert hub_cli._named(["--data-dir", "d", "agency", "list"]) == ("agency",)
    assert hub_cli._named(["--config=c.toml", "log", "head"]) == ("log",)
    for everything in (["--help"], ["--data-dir", "d"], ["nosuch"], ["--version"], []):
        assert hub_cli._named(everything) == hub_cli._MODULES


def test_a_command_given_loads_no_other_commands_parser(tmp_path: Path) -> None:
    code = (
        "import sys; from hub.cli import main; main(['--data-dir', sys.argv[1], 'hub', 'show']);"
        " print(sorted(m for m in sys.modules if m.startswith('hub.cli.')))"
    )
    done = subprocess.run(
        [BIN / "python", "-c", code, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "hub.cli.agency" not in done.stdout and "hub.cli.setup" in done.stdout, done.stderr


def _hub_show(data: Path, *flags: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [BIN / "marac-hub", "--data-dir", str(data), "hub", "show", *flags],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, **FAST, **(env or {})},
    )


def test_hub_show_reads_the_public_halves_and_check_proves_them(tmp_path: Path) -> None:
    """``hub show`` prints the fingerprints with no passphrase and no database; ``--check``
    opens the key files and prints the same fingerprints; a key file whose public half
    was swapped for another key's is shown as it claims, and ``--check`` refuses it."""
    data = tmp_path / "hub"
    subprocess.run(
        [BIN / "marac-hub", "--data-dir", str(data), "init"],
        check=True,
        capture_output=True,
        env={**os.environ, **FAST},
        timeout=60,
    )
    passphrase = (data / "hub-passphrase").read_text().strip()
    (data / "hub-passphrase").unlink()  # hub show needs none
    (data / "hub.sqlite3").rename(tmp_path / "elsewhere.sqlite3")  # nor the database
    shown = _hub_show(data)
    assert shown.returncode == 0, shown.stderr
    identity = _fingerprint("hub identity", shown.stdout)
    checked = _hub_show(data, "--check", env={"MARAC_HUB_KEY_PASSPHRASE": passphrase})
    assert checked.returncode == 0, checked.stderr
    assert _fingerprint("hub identity", checked.stdout) == identity
    assert "checked: each key file opens" in checked.stdout
    assert not (data / "hub.sqlite3").exists()  # --check opened no database either
    wrong = _hub_show(data, "--check", env={"MARAC_HUB_KEY_PASSPHRASE": "not it"})
    assert wrong.returncode == 1 and "wrong-passphrase" in wrong.stderr, wrong.stderr
    assert "Traceback" not in wrong.stderr and wrong.stdout == ""
    # the attack: the identity file's public half names another key
    key_file = data / "hub-identity.key"
    meta = json.loads(key_file.read_text())
    meta["public"] = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
    key_file.write_text(json.dumps(meta))
    swapped = _hub_show(data)
    assert swapped.returncode == 0 and identity not in swapped.stdout
    refused = _hub_show(data, "--check", env={"MARAC_HUB_KEY_PASSPHRASE": passphrase})
    # the public half is sealed with the private key as associated data: it fails to open
    assert refused.returncode == 1 and "key file is damaged" in refused.stderr, refused.stderr
    assert refused.stdout == ""


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"{}",
        b"[1, 2]",
        b'{"format": "marac-hub-key"}',
        b"{" * 100_000,
        b'{"ciphertext":"x","fingerprint":"f","format":"marac-hub-key","kdf":{"alg":"argon2id13",'
        b'"memlimit":67108864,"opslimit":2,"salt":"AAAA"},"kind":"ed25519","nonce":"n",'
        b'"public":"!!not base64!!","v":1}',
    ],
    ids=[
        "empty",
        "not JSON",
        "an empty object",
        "a list",
        "a format alone",
        "oversized",
        "a public half not in base64",
    ],
)
def test_hub_show_of_a_damaged_key_file_is_one_line(tmp_path: Path, content: bytes) -> None:
    data = tmp_path / "hub"
    subprocess.run(
        [BIN / "marac-hub", "--data-dir", str(data), "init"],
        check=True,
        capture_output=True,
        env={**os.environ, **FAST},
        timeout=60,
    )
    (data / "hub-identity.key").write_bytes(content)
    shown = _hub_show(data)
    assert shown.returncode == 1, shown.stdout
    assert shown.stderr.count("\n") == 1 and "bad-key-file" in shown.stderr, shown.stderr
