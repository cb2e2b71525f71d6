"""The application core: one use-case per staff action, called by every door.

Each use-case takes a :class:`Runtime` (database, keys, settings, policy, clock, wake-up)
and an :class:`Actor` (who, in which role and areas, through which door), and is the only
place that checks role and area, applies four eyes, owns the transaction, writes the log
entries with the real actor (access entries included) and wakes delivery after commit.
The API (``hub.service``), the web UI (``hub.web``) and the CLI (``hub.cli``) parse,
call one use-case and render.
"""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hub.app.actor import Actor, Door, operator
    from hub.app.runtime import Runtime

__all__ = ["Actor", "Door", "Runtime", "operator"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"Actor": "actor", "Door": "actor", "operator": "actor", "Runtime": "runtime"},
)
