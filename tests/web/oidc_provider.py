"""A real OpenID provider for the single sign-on tests: ``oidc/provider.mjs`` (the npm
package oidc-provider) run by Node on 127.0.0.1, driven by JSON lines on its stdin."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "oidc" / "provider.mjs"
MODULE = HERE / "node_modules" / "oidc-provider" / "package.json"

__all__ = ["OidcProvider", "missing"]


def missing() -> str | None:
    """Why the provider cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed: the single sign-on tests run a real OpenID provider on it"
    if not MODULE.exists():
        return "the npm package oidc-provider is not installed: run `make browser`"
    return None


class OidcProvider:
    """oidc-provider on a free loopback port. Its issuer is ``http://localhost:PORT``: a
    different site from the hub's ``http://127.0.0.1:PORT``, as a real provider is, so the
    browser's SameSite rules apply as they would in production."""

    def __init__(self) -> None:
        node = shutil.which("node")
        assert node is not None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            [node, str(SCRIPT)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.port = int(self._read()["port"])
        self.issuer = f"http://localhost:{self.port}"

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        while True:
            line = self._process.stdout.readline()
            if not line:
                self._stderr.seek(0)
                stderr = self._stderr.read().decode()[-2000:]
                raise RuntimeError(f"the provider stopped: {stderr}")
            if line.startswith("{"):  # a library's stray line is not an answer
                answer: dict[str, Any] = json.loads(line)
                return answer

    def command(self, cmd: str, **fields: Any) -> None:
        """Send one command; an error if the provider refuses it."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self._process.stdin.flush()
        answer = self._read()
        assert answer.get("ok") == cmd, answer

    def configure(self, client: dict[str, Any], users: dict[str, dict[str, Any]]) -> None:
        """Register the hub as a client and the test users (login, password, groups, amr)."""
        self.command("configure", issuer=self.issuer, client=client, users=users)

    def set_user(self, login: str, **fields: Any) -> None:
        """Change a user's groups, amr, ..."""
        self.command("user", login=login, fields=fields)

    def misbehave(self, mode: str) -> None:
        """Alter the ID token of the next token response (see provider.mjs)."""
        self.command("misbehave", mode=mode)

    def close(self) -> None:
        """Stop the provider (closing its stdin ends it)."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()
