"""Headers every answer of the hub carries: no caching of what may be case data, HSTS
behind TLS, and a ``Server`` header that names no library or version.

* ``Cache-Control: no-store`` on every answer that does not set its own (the style sheet,
  script and JSON Schemas choose to be cached; nothing personal does);
* ``Strict-Transport-Security`` when the request came over TLS or the hub is told it sits
  behind a TLS proxy (``web_secure_cookies``);
* ``Server: marac-hub``; ``X-Content-Type-Options: nosniff`` everywhere.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from hub.http.appkeys import SETTINGS

__all__ = ["HSTS", "SERVER", "add_security_headers", "setup_security_headers"]

SERVER: Final = "marac-hub"
HSTS: Final = "max-age=31536000; includeSubDomains"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: set the headers on ``response`` before it is sent."""
    headers = response.headers
    headers["Server"] = SERVER
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.secure or request.app[SETTINGS].web_secure_cookies:
        headers["Strict-Transport-Security"] = HSTS


def setup_security_headers(app: web.Application) -> None:
    """Add the headers to every answer ``app`` prepares (errors and streams included)."""
    app.on_response_prepare.append(add_security_headers)
