"""No traceback from any command line (issue 23): every subcommand of ``marac-hub`` and
``agency-client``, found by walking their argparse trees, is run as its own process with
stdin closed and no terminal, against an empty data directory, once with plausible
arguments and once with bad ones. Each must answer in words (no ``Traceback`` on stderr),
finish, and exit non-zero unless it did something (printed what it did)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from agency_client import cli as agency_cli
from hub import cli as hub_cli

HERE = Path(__file__).resolve().parent
PROGRAMS: dict[str, tuple[ModuleType, tuple[ModuleType, ...]]] = {
    "marac-hub": (hub_cli, hub_cli._SUBCOMMANDS),
    "agency-client": (agency_cli, agency_cli._SUBCOMMANDS),
}
# What a bad value looks like to each kind of argument: a path that is a directory, text
# with a control character and a right-to-left override, a number that is no number.
BAD_TEXT = "no\x1b[31m-such\u202e" + "x" * 300


def _commands(program: str) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    """Every leaf command of ``program``: its words and its parser."""
    module, subcommands = PROGRAMS[program]
    parser: argparse.ArgumentParser = module.build_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for each in subcommands:
        each.register(sub)

    def walk(
        node: argparse.ArgumentParser, words: list[str]
    ) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
        children = [a for a in node._actions if isinstance(a, argparse._SubParsersAction)]
        if not children:
            yield words, node
            return
        for name, child in children[0].choices.items():
            yield from walk(child, [*words, name])

    yield from walk(parser, [])


def _value(action: argparse.Action, scratch: Path, *, bad: bool) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    if bad:
        if action.type is Path or action.dest.endswith(("file", "dir", "path")):
            return str(scratch)  # a directory where a file is wanted
        return "not-a-number" if action.type in (int, float) else BAD_TEXT
    if action.type is Path or action.dest.endswith(("file", "path")):
        return str(scratch / "missing.json")
    for candidate in ("nobody", "2026-01-01", "1", "M-2026-0001", "2026Q1"):
        try:
            if callable(action.type):
                action.type(candidate)
            return candidate
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            continue
    return "nobody"


def _argv(
    words: list[str], node: argparse.ArgumentParser, scratch: Path, *, bad: bool
) -> list[str]:
    """``words`` and a value for each argument the command requires (and, if ``bad``,
    for every option that takes one)."""
    argv = list(words)
    for action in node._actions:
        if action.dest == "help" or isinstance(action, argparse._SubParsersAction):
            continue
        if isinstance(
            action,
            argparse._StoreTrueAction
            | argparse._StoreFalseAction
            | argparse._VersionAction
            | argparse._CountAction,
        ):
            continue
        wanted = action.required or not action.option_strings or (bad and action.nargs != 0)
        if not wanted or action.nargs == argparse.REMAINDER:
            continue
        if any(action in g._group_actions for g in node._mutually_exclusive_groups):
            continue
        value = _value(action, scratch, bad=bad)
        argv += [action.option_strings[0], value] if action.option_strings else [value]
    for group in node._mutually_exclusive_groups:  # (--to X | --all): the first
        if group.required:
            first = group._group_actions[0]
            if first.option_strings:
                argv.append(first.option_strings[0])
            if first.nargs != 0:
                argv.append(_value(first, scratch, bad=bad))
    return argv


# Long-running by design (a demo hub until Ctrl-C): tried with bad arguments only.
SERVERS = {("marac-hub", "demo")}


class _Hung(BaseException):
    """A command ran past its time (raised by the alarm; no ``except Exception`` eats it)."""


def _on_alarm(_signum: int, _frame: object) -> None:
    raise _Hung


def drive(program: str, runs: list[list[str]]) -> list[dict[str, object]]:
    """In this process (stdin closed, no terminal): run each argv through ``program``'s
    ``main``; its status, what it printed, and any exception that escaped it."""
    main = PROGRAMS[program][0].main
    signal.signal(signal.SIGALRM, _on_alarm)
    results: list[dict[str, object]] = []
    for argv in runs:
        out, err = io.StringIO(), io.StringIO()
        status: object = None
        signal.alarm(30)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = main(argv)
        except SystemExit as exc:  # argparse's usage errors, --help
            status = exc.code if isinstance(exc.code, int) else 1
        except _Hung:
            status = "hung"
        except BaseException:  # what would reach the user as a traceback
            err.write(traceback.format_exc())
            status = "traceback"
        finally:
            signal.alarm(0)
        results.append(
            {"argv": argv, "status": status, "out": out.getvalue(), "err": err.getvalue()}
        )
    return results


def _close_stdin() -> None:
    os.close(0)


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARAC_HUB_", "AGENCY_"))}
    return env | {"HOME": str(home), "MARAC_HUB_DATA_DIR": str(home / "hub"), "NO_COLOR": "1"}


def _drive_in_child(
    program: str, runs: list[list[str]], home: Path, extra: dict[str, str] | None = None
) -> list[dict[str, object]]:
    env = _clean_env(home) | (extra or {})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    plan = home / "plan.json"
    plan.write_text(json.dumps({"program": program, "runs": runs}))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(plan)],
        env=env,
        cwd=home,
        preexec_fn=_close_stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        start_new_session=True,  # no controlling terminal to ask a passphrase on
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_no_command_prints_a_traceback_or_hangs_without_a_terminal(
    program: str, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    runs = []
    for words, node in _commands(program):
        for bad in (False, True):
            if not bad and (program, " ".join(words)) in SERVERS:
                continue
            argv = _argv(words, node, scratch, bad=bad)
            if program == "marac-hub":  # each its own (empty) data directory
                argv = ["--data-dir", str(tmp_path / f"hub-{len(runs)}"), *argv]
            runs.append(argv)
    assert len(runs) > 20
    problems = _problems(program, _drive_in_child(program, runs, tmp_path))
    assert not problems, "\n\n".join(problems)


def test_no_command_prints_a_traceback_given_bad_arguments_against_a_real_hub(
    tmp_path: Path,
) -> None:
    """The same with bad arguments against an initialised hub (its passphrase in the
    environment): the bad values reach the use-cases and the database."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    hub = tmp_path / "hub"
    extra = {
        "MARAC_HUB_KEY_PASSPHRASE": "marac-hub-testing",
        "MARAC_HUB_KEY_FILE_STRENGTH": "interactive",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "marac-hub"), "--data-dir", str(hub), "init"],
        env=_clean_env(tmp_path) | extra,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    runs = [
        ["--data-dir", str(hub), *_argv(words, node, scratch, bad=True)]
        for words, node in _commands("marac-hub")
        if words[0] not in ("init", "restore")  # they would make or replace the hub
    ]
    problems = _problems("marac-hub", _drive_in_child("marac-hub", runs, tmp_path, extra))
    assert not problems, "\n\n".join(problems)


def _problems(program: str, results: list[dict[str, object]]) -> list[str]:
    problems = []
    for result in results:
        status, out, err = result["status"], str(result["out"]), str(result["err"])
        shown = f"{program} {' '.join(map(str, result['argv']))[:140]!r}"  # type: ignore[call-overload]
        if "Traceback" in err or not isinstance(status, int):
            problems.append(f"{shown}: {status}\n{err[-1500:]}")
        elif status == 0 and not out.strip():
            problems.append(f"{shown}: exit 0 having said nothing")
    return problems


if __name__ == "__main__":
    plan = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(drive(plan["program"], plan["runs"])))
