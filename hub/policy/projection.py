"""Projection: a case view reduced to exactly the fields a rule allows.

The result is built afresh from the allowed paths; nothing is copied and then deleted,
so a field the policy does not name can never leak through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub.policy.fields import FIELDS, FREE_TEXT, PERSON_GROUPS

__all__ = ["project"]

_PERSON_KEYS = ("subject_id", "role")


def _value(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def _pick(source: Mapping[str, Any], attrs: Iterable[str]) -> dict[str, Any]:
    return {a: _value(source[a]) for a in sorted(attrs) if source.get(a) is not None}


def _person(source: Any, attrs: set[str]) -> dict[str, Any] | None:
    if not isinstance(source, Mapping):
        return None
    out = {k: source[k] for k in _PERSON_KEYS if k in source}
    out.update(_pick(source, attrs))
    return out


def _group(group: str, source: Any, attrs: set[str]) -> Any:
    if source is None:
        return None
    if group == "children":
        if not isinstance(source, list | tuple):
            return None
        return [k for k in (_person(child, attrs) for child in source) if k is not None]
    if group in PERSON_GROUPS:
        return _person(source, attrs)
    if isinstance(source, Mapping):
        return _pick(source, attrs) or None
    return None


def project(view: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A new dict holding only ``fields`` of ``view`` (persons keep ``subject_id`` and ``role``).

    A person (or a group such as ``risk``) none of whose fields is allowed is left out;
    children are projected one by one. Free-text paths are not case fields: the message's
    builder sends them (as the decision allows). Unknown paths raise ``ValueError``.
    """
    by_group: dict[str, set[str]] = {}
    scalars: list[str] = []
    for path in fields:
        if path in FREE_TEXT:
            continue
        if path not in FIELDS:
            raise ValueError(f"unknown field path {path!r}")
        group, _, attr = path.partition(".")
        if attr:
            by_group.setdefault(group, set()).add(attr)
        else:
            scalars.append(path)
    out: dict[str, Any] = {}
    for group, attrs in by_group.items():
        projected = _group(group, view.get(group), attrs)
        if projected is not None:
            out[group] = projected
    for path in scalars:
        if view.get(path) is not None:
            out[path] = view[path]
    return out
