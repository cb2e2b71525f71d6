"""Which case fields a built payload actually carries, and whose data it is.

The policy decides which field paths may go; these functions read them back off the
payload that was built, so the pipeline can refuse (as a bug) anything that slipped past
the projection and can log exactly what left the hub, free text (an action's description,
the minutes' discussion) included.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from hub.policy.fields import free_text_paths

__all__ = ["disclosed_paths", "subject_ids_in"]

_PERSON_KEYS: Final = frozenset({"subject_id", "role"})
_ROLE_PREFIX: Final = {
    "victim": "victim",
    "perpetrator": "perpetrator",
    "child": "children",
    "other": "other",
}
_SECTIONS: Final = ("risk", "referral", "safe_contact")
_FLAGS: Final = ("perpetrator_must_not_know",)


def _people(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every person object (one with a subject id and a role) anywhere in ``node``."""
    if isinstance(node, Mapping):
        if node.keys() >= _PERSON_KEYS and isinstance(node.get("subject_id"), str):
            yield node
            return
        for value in node.values():
            yield from _people(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _people(item)


def disclosed_paths(payload: Mapping[str, Any]) -> frozenset[str]:
    """The case field paths present in ``payload`` (``victim.name``, ``risk.level``, ...)
    and its free-text paths (``carried_forward.description``, ``discussion``, ...)."""
    paths: set[str] = set()
    for person in _people(payload):
        prefix = _ROLE_PREFIX.get(str(person["role"]), "other")
        paths.update(f"{prefix}.{key}" for key in person if key not in _PERSON_KEYS)
    for section in _SECTIONS:
        value = payload.get(section)
        if isinstance(value, Mapping):
            paths.update(f"{section}.{key}" for key in value)
    paths.update(flag for flag in _FLAGS if flag in payload)
    paths.update(free_text_paths(payload))
    return frozenset(paths)


def subject_ids_in(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The pseudonymous subject ids of every person whose data ``payload`` carries."""
    return tuple(sorted({str(person["subject_id"]) for person in _people(payload)}))
