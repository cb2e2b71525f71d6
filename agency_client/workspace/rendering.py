"""Pages from the workspace's Jinja2 templates (autoescaped), and its stylesheet."""

from __future__ import annotations

from importlib.resources import files
from typing import Any, Final
from urllib.parse import quote

import jinja2
from aiohttp import web

from agency_client.workspace.formatting import format_date, format_time, humanize
from agency_client.workspace.guard import Guard

__all__ = ["GUARD", "TEMPLATES", "environment", "problem", "render", "stylesheet"]

GUARD: Final = web.AppKey("guard", Guard)
TEMPLATES: Final = web.AppKey("templates", jinja2.Environment)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agency_client.workspace", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date=format_date, time=format_time, humanize=humanize, urlpart=_urlpart)
    return env


def _urlpart(value: object) -> str:
    return quote(str(value), safe="")


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page from ``template`` with the guard's state (CSRF token, agency) in its context."""
    guard = request.app[GUARD]
    env = request.app[TEMPLATES]
    unlocked = guard.unlocked
    body = env.get_template(template).render(
        csrf=guard.csrf,
        unlocked=unlocked is not None,
        agency_id=unlocked.store.config("agency_id") if unlocked else None,
        idle_minutes=round(guard.idle.total_seconds() / 60),
        path=request.path,
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def problem(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    return render(request, "problem.html", status=status, title=title, detail=detail)


def stylesheet() -> bytes:
    """The workspace's stylesheet (package data)."""
    return files("agency_client.workspace").joinpath("static/workspace.css").read_bytes()
