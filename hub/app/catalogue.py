"""The table of use-cases: each staff action's name, who may take it, and its function.

``@use_case(name, *roles)`` registers a use-case and checks the actor's role before it
runs, so no door can call it for a role it does not name. The doors say which use-case
each route, page and command calls (``roles_of`` gives their guards the same roles), and
the authorisation tests are generated from :data:`USE_CASES`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import update_wrapper
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from hub.app.actor import Actor
from hub.app.rules import require_role
from hub.app.runtime import Runtime

__all__ = [
    "ANY_STAFF",
    "USE_CASES",
    "WRITERS",
    "UseCase",
    "roles_of",
    "use_case",
    "use_case_of",
]

P = ParamSpec("P")
T = TypeVar("T")
ANY_STAFF: Final = ("admin", "coordinator", "dpo")
WRITERS: Final = ("admin", "coordinator")


@dataclass(frozen=True, slots=True)
class UseCase:
    """One staff action: its name, the roles that may take it, what it does."""

    name: str
    roles: tuple[str, ...]
    summary: str


USE_CASES: dict[str, UseCase] = {}


def use_case(
    name: str, *roles: str
) -> Callable[
    [Callable[Concatenate[Runtime, Actor, P], Awaitable[T]]],
    Callable[Concatenate[Runtime, Actor, P], Awaitable[T]],
]:
    """Register the decorated coroutine as use-case ``name``, open to ``roles`` only."""
    if name in USE_CASES:
        raise ValueError(f"use-case {name} is registered twice")

    def decorate(
        func: Callable[Concatenate[Runtime, Actor, P], Awaitable[T]],
    ) -> Callable[Concatenate[Runtime, Actor, P], Awaitable[T]]:
        async def checked(rt: Runtime, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> T:
            require_role(actor, *roles)
            return await func(rt, actor, *args, **kwargs)

        update_wrapper(checked, func)
        summary = (func.__doc__ or name).strip().splitlines()[0]
        USE_CASES[name] = UseCase(name, tuple(roles), summary)
        checked.use_case = name  # type: ignore[attr-defined]
        return checked

    return decorate


def roles_of(name: str) -> tuple[str, ...]:
    """The roles use-case ``name`` is open to (``KeyError`` for an unknown name)."""
    return USE_CASES[name].roles


def use_case_of(func: Any) -> str | None:
    """The name of the use-case ``func`` is, if it is one."""
    name = getattr(func, "use_case", None)
    return name if isinstance(name, str) else None
