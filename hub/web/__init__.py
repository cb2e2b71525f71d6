"""The web UI for coordinators and DPOs: server-rendered pages served by the hub at ``/``.

``setup_web(app)`` adds the pages to the hub's application. Every page works without
JavaScript; each is guarded by ``hub.web.pages.page`` (session, role, CSRF).
"""

from __future__ import annotations

import importlib
from typing import Final

import aiohttp_jinja2
import jinja2
from aiohttp import web

from hub.http.appkeys import SETTINGS
from hub.web import labels

__all__ = ["setup_web"]

PAGES: Final = (
    "auth",
    "views_dashboard",
    "views_cases",
    "views_meetings",
    "views_agencies",
    "views_log",
    "views_charts",
    "views_second_factor",
    "views_sso",
)


def setup_web(app: web.Application) -> None:
    """Add the web UI's pages, templates and background jobs to the hub's ``app``."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("hub.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    env.globals["app_name"] = "marac-hub"
    labels.install(env)  # label, yesno, shown, day, when: coded values and dates in words
    settings = app[SETTINGS]  # the sign-in page's single sign-on link, if it is set up
    env.globals["sso_provider"] = settings.sso_provider_name if settings.sso_issuer else None
    for name in PAGES:  # imported here: the pages import the service, which imports this
        app.add_routes(importlib.import_module(f"hub.web.{name}").routes)
    importlib.import_module("hub.web.jobs").setup(app)
