"""The Information Sharing Protocol: published versions and which agency signed which.

The current ISP is the newest published version. ``agencies.isp_version`` and its
``isp_signed_by``/``isp_signed_on`` hold an agency's latest signature (``agency invite``
writes them); :func:`sign_isp` updates them and keeps the history in ``isp_signatures``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.agencies.tables import agencies
from hub.policy.tables import isp_signatures, isp_versions
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "IspSignature",
    "IspStatus",
    "IspVersion",
    "check_version",
    "current_isp",
    "isp_status",
    "list_isp_versions",
    "publish_isp",
    "sign_isp",
    "signatures_of",
]

_VERSION: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class IspVersion:
    """One published version of the ISP."""

    version: str
    title: str
    document_sha256: str | None
    published_at: datetime
    published_by: str

    def to_json(self) -> dict[str, Any]:
        """The version as JSON."""
        return {
            "version": self.version,
            "title": self.title,
            "document_sha256": self.document_sha256,
            "published_at": self.published_at.isoformat(),
            "published_by": self.published_by,
        }


@dataclass(frozen=True, slots=True)
class IspSignature:
    """An agency's signature of one ISP version."""

    agency_id: str
    version: str
    signed_by: str
    signed_on: date
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True, slots=True)
class IspStatus:
    """An agency's latest signature against the current ISP."""

    agency_id: str
    kind: str
    status: str
    signed_version: str
    signed_on: date
    current: bool


def _version(row: Any) -> IspVersion:
    return IspVersion(
        row.version, row.title, row.document_sha256, row.published_at, row.published_by
    )


def check_version(version: str) -> str:
    """``version`` if it is a well-formed ISP version label."""
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ProtocolError(
            "an ISP version is 1-32 letters, digits, '.', '-', '_', starting alphanumeric"
        )
    return version


async def publish_isp(
    conn: AsyncConnection,
    *,
    version: str,
    title: str,
    document_sha256: str | None,
    by: str,
    now: datetime,
) -> IspVersion:
    """Publish a new ISP version; it becomes the current one."""
    check_version(version)
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise ProtocolError("an ISP title is 1-200 characters")
    if document_sha256 is not None and not _SHA256.match(document_sha256):
        raise ProtocolError("document_sha256 must be 64 lower-case hex digits")
    taken = await conn.scalar(
        select(isp_versions.c.version).where(isp_versions.c.version == version)
    )
    if taken is not None:
        raise HubError(f"ISP version {version} is already published", code="conflict")
    published = IspVersion(version, title.strip(), document_sha256, now, by)
    await conn.execute(
        isp_versions.insert().values(
            version=version,
            title=published.title,
            document_sha256=document_sha256,
            published_at=now,
            published_by=by,
        )
    )
    return published


async def current_isp(conn: AsyncConnection) -> IspVersion | None:
    """The newest published ISP, or None if none is published."""
    row = (await conn.execute(_CURRENT)).first()
    return None if row is None else _version(row)


_CURRENT: Final = (
    select(isp_versions)
    .order_by(isp_versions.c.published_at.desc(), isp_versions.c.version.desc())
    .limit(1)
)


async def list_isp_versions(conn: AsyncConnection) -> list[IspVersion]:
    """Every published version, newest first."""
    rows = await conn.execute(
        select(isp_versions).order_by(
            isp_versions.c.published_at.desc(), isp_versions.c.version.desc()
        )
    )
    return [_version(r) for r in rows]


async def sign_isp(
    conn: AsyncConnection,
    agency_id: str,
    *,
    version: str,
    signed_by: str,
    signed_on: date,
    recorded_by: str,
    now: datetime,
) -> IspSignature:
    """Record that ``agency_id`` signed ``version``; it becomes its latest signature."""
    check_version(version)
    if not isinstance(signed_by, str) or not signed_by.strip() or len(signed_by) > 200:
        raise ProtocolError("the signatory is 1-200 characters")
    if signed_on > now.date():
        raise ProtocolError("an ISP cannot be signed in the future")
    if await conn.scalar(select(agencies.c.id).where(agencies.c.id == agency_id)) is None:
        raise HubError(f"no agency {agency_id}", code="not-found")
    published = await conn.scalar(
        select(isp_versions.c.version).where(isp_versions.c.version == version)
    )
    if published is None:
        raise HubError(f"ISP version {version} is not published", code="not-found")
    signature = IspSignature(agency_id, version, signed_by.strip(), signed_on, now, recorded_by)
    await conn.execute(
        isp_signatures.insert().values(
            agency_id=agency_id,
            version=version,
            signed_by=signature.signed_by,
            signed_on=signed_on,
            recorded_at=now,
            recorded_by=recorded_by,
        )
    )
    await conn.execute(
        update(agencies)
        .where(agencies.c.id == agency_id)
        .values(isp_version=version, isp_signed_by=signature.signed_by, isp_signed_on=signed_on)
    )
    return signature


async def signatures_of(conn: AsyncConnection, agency_id: str) -> list[IspSignature]:
    """Every signature recorded for ``agency_id``, oldest first."""
    rows = await conn.execute(
        select(isp_signatures)
        .where(isp_signatures.c.agency_id == agency_id)
        .order_by(isp_signatures.c.id)
    )
    return [
        IspSignature(r.agency_id, r.version, r.signed_by, r.signed_on, r.recorded_at, r.recorded_by)
        for r in rows
    ]


async def isp_status(conn: AsyncConnection) -> tuple[IspVersion | None, list[IspStatus]]:
    """The current ISP and, for each agency, its latest signature and whether it is current."""
    current = await current_isp(conn)
    rows = await conn.execute(select(agencies).order_by(agencies.c.id))
    return current, [
        IspStatus(
            r.id,
            r.kind,
            r.status,
            r.isp_version,
            r.isp_signed_on,
            current is not None and r.isp_version == current.version,
        )
        for r in rows
    ]
