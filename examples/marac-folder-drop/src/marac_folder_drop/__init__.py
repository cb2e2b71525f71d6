"""``folder-drop``: write each sealed envelope into a folder an agency's importer watches.

Settings: ``{"folder": "/srv/marac-drop/police-north"}`` (an existing directory).
The file ``<envelope id>.json`` is written beside as ``.<envelope id>.tmp``, flushed to
disk and renamed into place, so the importer never reads half an envelope; writing the
same envelope again replaces it with the same bytes. A failed write (disk full, share
gone) is a :class:`~hub.adapters.DeliveryFailed` the hub retries.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from hub.adapters import Delivered, DeliveryFailed, Outgoing, PayloadTooLarge
from hub.protocol.errors import ProtocolError

__all__ = ["FolderDropTransport"]

_ENVELOPE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class FolderDropTransport:
    """Drop envelopes into a folder."""

    name: ClassVar[str] = "folder-drop"
    kind: ClassVar[Literal["transport"]] = "transport"
    push: ClassVar[bool] = True
    max_bytes: int = 8 * 1024 * 1024

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``folder``: an existing directory; nothing else."""
        if not isinstance(config, Mapping) or set(config) != {"folder"}:
            raise ProtocolError("folder-drop takes exactly one setting: folder", code="bad-config")
        folder = config["folder"]
        if not isinstance(folder, str) or not Path(folder).is_dir():
            raise ProtocolError("folder must name an existing directory", code="bad-config")
        return {"folder": folder}

    async def deliver(self, outgoing: Outgoing, config: Mapping[str, Any]) -> Delivered:
        """Write the envelope atomically; the rename is the delivery."""
        if len(outgoing.envelope) > self.max_bytes:
            raise PayloadTooLarge()
        if not _ENVELOPE_ID.match(outgoing.envelope_id):
            raise DeliveryFailed("not an envelope id", permanent=True)
        folder = Path(self.check_config(config)["folder"])
        try:
            await asyncio.to_thread(self.write, folder, outgoing.envelope_id, outgoing.envelope)
        except OSError as exc:
            raise DeliveryFailed(f"could not write to the folder ({exc.strerror})") from None
        return Delivered(f"written as {outgoing.envelope_id}.json")

    def write(self, folder: Path, envelope_id: str, data: bytes) -> None:
        """Write ``data`` as ``<envelope_id>.json`` in ``folder``, atomically."""
        temporary = folder / f".{envelope_id}.tmp"
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(folder / f"{envelope_id}.json")
