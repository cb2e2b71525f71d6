"""The packages whose names load lazily (``hub.protocol.lazy_exports``) hand out the same objects
their modules define, whichever is imported first, and importing one module of them no
longer loads the rest (what keeps a command's start-up short)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

LAZY = [
    "agency_client",
    "hub.app",
    "hub.cases",
    "hub.crypto",
    "hub.delivery",
    "hub.disclosure",
    "hub.log",
    "hub.policy",
    "hub.protocol",
]


@pytest.mark.parametrize("name", LAZY)
def test_every_name_is_its_modules_object_even_after_every_module_is_imported(name: str) -> None:
    package = importlib.import_module(name)
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{name}.{info.name}")  # sets package.<module> attributes
    for exported in package.__all__:
        value = getattr(package, exported)
        assert not isinstance(value, ModuleType), f"{name}.{exported} is a module"
    assert sorted(dir(package)) == sorted(package.__all__)
    with pytest.raises(AttributeError):
        getattr(package, "no_such_name")  # noqa: B009


HEAVY = ("hub.protocol.messages", "hub.policy.decide", "alembic", "aiohttp", "asyncpg")


@pytest.mark.parametrize(
    ("modules", "not_loaded"),
    [
        ("hub.app.data_dir, hub.cli.setup", HEAVY),  # marac-hub hub show
        ("hub.app.runtime, hub.app.bootstrap, hub.app.agencies", HEAVY),  # agency list
    ],
)
def test_a_quick_command_does_not_load_what_it_does_not_use(
    modules: str, not_loaded: tuple[str, ...]
) -> None:
    """In a fresh interpreter, ``hub show`` (key files) and ``agency list`` (the
    database) load none of the message models, the policy engine, Alembic, aiohttp or
    asyncpg."""
    code = f"import sys, {modules}; print(' '.join(m for m in {not_loaded!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
