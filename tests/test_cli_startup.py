"""The command lines start quickly because building their parsers imports no heavy library.

Each subcommand imports what it needs when it runs (``hub.protocol.commands.lazy_module``),
so ``marac-hub --help`` and ``agency-client --help`` load neither the database layer nor
the web stack nor the message models. The time itself is measured by
``bench/cli_startup.py``, not here: this checks the structure that makes it quick.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Loaded by a command that runs, never by building the parser or printing --help.
HEAVY = ("sqlalchemy", "alembic", "aiohttp", "jinja2", "pydantic", "fhir", "cryptography")

PROBE = """
import contextlib, io, json, sys
from {package} import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(["--help"])
    except SystemExit:
        pass
heavy = sorted({{name.partition(".")[0] for name in sys.modules}} & set({heavy!r}))
print(json.dumps({{"heavy": heavy, "help": out.getvalue()}}))
"""


def _help_imports(package: str) -> tuple[list[str], str]:
    """Run ``package``'s ``main(["--help"])`` in a fresh interpreter: the heavy top-level
    packages it imported, and the help it printed."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    return found["heavy"], found["help"]


@pytest.mark.parametrize(
    ("package", "command"),
    [("hub.cli", "demo"), ("agency_client.cli", "enrol")],
)
def test_help_imports_no_database_web_or_model_library(package: str, command: str) -> None:
    heavy, shown = _help_imports(package)
    assert command in shown  # the whole parser was built: every subcommand registered
    assert heavy == [], f"{package} --help imported {heavy}: import them in the handler"


def test_a_lazily_chosen_option_still_refuses_a_value_outside_its_choices() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hub", "user", "add", "someone", "--role", "overlord"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice: 'overlord' (choose from 'admin', 'coordinator', 'dpo')" in done.stderr
