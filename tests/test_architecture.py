"""One direction of imports (DESIGN.md, Architecture), checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("hub.protocol", ("hub.protocol",)),
        ("hub.crypto", ("hub.protocol", "hub.crypto")),
        ("hub.adapters", ("hub.protocol", "hub.adapters")),
        ("agency_client", ("hub.protocol", "hub.crypto", "agency_client", "hub")),
    ],
)
def test_package_imports_only_what_it_may(package: str, allowed: tuple[str, ...]) -> None:
    own = {m for m in _imports(package) if m == "hub" or m.startswith(("hub.", "agency_client"))}
    bad = {m for m in own if not any(m == a or m.startswith(a + ".") for a in allowed)}
    assert not bad, f"{package} imports {sorted(bad)}"


def test_agency_client_does_not_load_the_service() -> None:
    code = (
        "import sys, agency_client.cli; "
        "bad = [m for m in sys.modules if m.startswith(('aiohttp', 'sqlalchemy', 'hub.cli'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
