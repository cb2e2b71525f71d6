"""A recipient's standing: what every disclosure checks before anything is sealed.

Read once for a whole batch of disclosures (every agency of an agenda or a notice to
all), in the caller's transaction: each agency's status, its newest valid encryption
key, the current ISP, and the lawful bases the batch's rules name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies import Agency, get_agencies, newest_keys
from hub.crypto.keys import EncryptionPublicKey
from hub.policy.bases import Basis, current_basis
from hub.policy.isp import IspVersion, current_isp

__all__ = ["Standing"]


@dataclass(frozen=True, slots=True)
class Standing:
    """Agencies, their newest keys and the current ISP, as one transaction sees them."""

    agencies: Mapping[str, Agency]
    keys: Mapping[str, EncryptionPublicKey]
    isp: IspVersion | None
    _bases: dict[str, Basis | None] = field(default_factory=dict)

    @classmethod
    async def read(
        cls,
        conn: AsyncConnection,
        agency_ids: Collection[str],
        now: datetime,
        *,
        known: Mapping[str, Agency] | None = None,
    ) -> Standing:
        """Three queries, however many agencies; two when ``known`` holds every agency
        of ``agency_ids`` as read in this same transaction (a notice to all has just
        read them)."""
        ids = set(agency_ids)
        if known is not None and ids <= known.keys():
            found = {agency_id: known[agency_id] for agency_id in ids}
        else:
            found = await get_agencies(conn, ids)
        return cls(found, await newest_keys(conn, ids, now), await current_isp(conn))

    def refusal(self, agency_id: str) -> tuple[str, str] | None:
        """``(code, reason)`` if the agency may receive nothing now (status, key, ISP)."""
        agency = self.agencies.get(agency_id)
        if agency is None or agency.status != "active":
            return (
                "agency-not-active",
                f"agency {agency_id} is {agency.status if agency else 'unknown'}",
            )
        if agency_id not in self.keys:
            return "key-revoked", f"agency {agency_id} has no valid encryption key"
        if self.isp is None:
            return "isp-not-signed", "no information sharing protocol is published"
        if agency.isp_version != self.isp.version:
            return (
                "isp-not-signed",
                f"agency {agency_id} signed ISP {agency.isp_version}, not the current "
                f"{self.isp.version}",
            )
        return None

    async def basis(self, conn: AsyncConnection, basis_id: str) -> Basis | None:
        """The current version of ``basis_id``, read once per standing."""
        if basis_id not in self._bases:
            self._bases[basis_id] = await current_basis(conn, basis_id)
        return self._bases[basis_id]
