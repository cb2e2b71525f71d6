"""Checks shared by the bundled transports' settings, and their TLS context."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.protocol.errors import ProtocolError

__all__ = ["ca_file", "flag", "number", "text", "tls_context"]


def _bad(message: str) -> ProtocolError:
    return ProtocolError(message, code="bad-config")


def text(
    config: Mapping[str, Any], key: str, *, default: str | None = None, limit: int = 500
) -> str:
    """A non-empty, single-line string setting of at most ``limit`` characters."""
    value = config.get(key, default)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise _bad(f"{key} must be a text of 1 to {limit} characters")
    if any(ch in value for ch in "\r\n\x00"):
        raise _bad(f"{key} must be one line")
    return value


def number(
    config: Mapping[str, Any], key: str, *, default: float, low: float, high: float
) -> float:
    """A numeric setting within ``[low, high]``."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _bad(f"{key} must be a number from {low:g} to {high:g}")
    return float(value)


def flag(config: Mapping[str, Any], key: str) -> bool:
    """A true/false setting (false if absent)."""
    value = config.get(key, False)
    if not isinstance(value, bool):
        raise _bad(f"{key} must be true or false")
    return value


def ca_file(config: Mapping[str, Any]) -> dict[str, str]:
    """The optional ``ca_file`` setting (an existing file of PEM CA certificates), checked."""
    if "ca_file" not in config:
        return {}
    path = text(config, "ca_file", limit=4096)
    if not Path(path).is_file():
        raise _bad("ca_file must name an existing file of CA certificates")
    return {"ca_file": path}


def tls_context(ca: str | None) -> ssl.SSLContext:
    """Certificate and host-name verification on, TLS 1.2 at least; ``ca`` or the system's CAs."""
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
