"""The process's log lines: JSON (one object a line) or plain text, on standard error.

Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; a line
written while a request is handled also has its ``request_id`` (and names the route's
template wherever a message would name the request's path), and the access line of
each request (logger ``hub.access``) has ``method``, ``route`` (the route's template,
never the concrete path), ``status``, ``duration_ms`` and ``role`` (the caller's role,
never a name). The hub's messages never hold names, case content or tokens.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

from hub.http.request_ids import current_request

__all__ = ["configure_logging", "json_formatter"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
QUIET = ("aiohttp.access",)  # hub.access says the same without the concrete path


class _RequestFilter(logging.Filter):
    """Stamp each record written while a request is handled with that request's id, and
    put the route's template where the record names the concrete path (``GET
    /api/v1/cases/{ref} -> not-found``, never the reference)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = current_request()
        if current is None:
            return True
        if not hasattr(record, "request_id"):
            record.request_id = current.id
        if current.path != current.route:
            if isinstance(record.args, tuple):
                record.args = tuple(
                    current.route if arg == current.path else arg for arg in record.args
                )
            if isinstance(record.msg, str) and current.path in record.msg:
                record.msg = record.msg.replace(current.path, current.route)
        return True


class _TextFormatter(logging.Formatter):
    """The text line, then the request id in brackets when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time, level, logger, message and the record's extra fields."""
    return JsonFormatter(
        ["levelname", "name", "message"],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def configure_logging(
    log_format: Literal["json", "text"], level: str, stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records at ``level`` and above to ``stream`` (standard error)
    in ``log_format``, replacing the root logger's handlers; the handler is returned."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json" else _TextFormatter(TEXT_FORMAT))
    handler.addFilter(_RequestFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler
