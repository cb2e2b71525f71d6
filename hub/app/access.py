"""Access entries: each time a person is shown decrypted case data, the log says who, in
which role, through which door, which case and what was read (never the data itself)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.app.actor import Actor
from hub.log import LogEntry, append

__all__ = ["record_access"]


async def record_access(
    conn: AsyncConnection,
    actor: Actor,
    case_refs: Sequence[str],
    *,
    purpose: str,
    what: Sequence[str],
    now: datetime,
) -> None:
    """Append one ``access`` entry in ``conn``'s transaction (committed with the read).

    ``purpose`` is ``view``, ``export`` or ``subject-access``; ``what`` names the parts
    read (``case``, ``actions``, ``previous-actions`` ...), never their content.
    """
    if not case_refs:
        return
    await append(
        conn,
        [
            LogEntry(
                kind="access",
                at=now,
                actor=actor.log_name,
                door=actor.door,
                case_refs=tuple(case_refs),
                purpose=purpose,
                fields=tuple(what),
            )
        ],
    )
