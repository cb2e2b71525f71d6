"""What the import contracts cannot see: importing the agency client's CLI loads no server.

The layers themselves are import-linter contracts in pyproject.toml, checked by
``lint-imports`` in ``make test`` (``make lint``).
"""

from __future__ import annotations

import subprocess
import sys


def test_agency_client_does_not_load_the_service() -> None:
    code = (
        "import sys, agency_client.cli; "
        "bad = [m for m in sys.modules if m.startswith(('aiohttp.web', 'sqlalchemy', 'hub.cli', "
        "'hub.app', 'hub.server', 'hub.service', 'hub.web'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
