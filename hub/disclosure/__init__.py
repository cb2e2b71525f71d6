"""The one path by which anything leaves the hub for an agency.

decide (policy) → project (each case onto the allowed fields) → build the message →
seal to the agency's newest key → queue in the outbox → append the disclosure entry,
all in the caller's transaction (``pipeline``, each step in a module of its own). Staff
send extracts and notices (``extracts``) and decide held disclosures (``review``) through
``hub.app``. See docs/internals.md.
"""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hub.disclosure.pipeline import (
        Disclosed,
        DisclosureContext,
        DisclosureRequest,
        Held,
        Outcome,
        Refused,
        disclose,
        disclose_many,
        refuse_unless_disclosed,
    )

__all__ = [
    "Disclosed",
    "DisclosureContext",
    "DisclosureRequest",
    "Held",
    "Outcome",
    "Refused",
    "disclose",
    "disclose_many",
    "refuse_unless_disclosed",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Disclosed": "pipeline",
        "DisclosureContext": "pipeline",
        "DisclosureRequest": "pipeline",
        "Held": "pipeline",
        "Outcome": "pipeline",
        "Refused": "pipeline",
        "disclose": "pipeline",
        "disclose_many": "pipeline",
        "refuse_unless_disclosed": "pipeline",
    },
)
