"""How a sealed envelope reaches an agency (transports) and what its payload looks like
(formats, in :mod:`hub.adapters.formats`).

This package imports :mod:`hub.protocol` only. Transports: ``mailbox`` (the agency pulls),
``webhook`` (an HTTPS POST signed by the hub) and ``smtp`` (a mail with the envelope
attached); installed packages add more under the ``marac_hub.adapters`` entry-point
group (:mod:`hub.adapters.registry`). :mod:`hub.adapters.testing` is the conformance kit.
See ``docs/adapters.md``.
"""

from hub.adapters.transport import (
    Delivered,
    DeliveryFailed,
    Outgoing,
    PayloadTooLarge,
    Signer,
    Transport,
)

__all__ = ["Delivered", "DeliveryFailed", "Outgoing", "PayloadTooLarge", "Signer", "Transport"]
