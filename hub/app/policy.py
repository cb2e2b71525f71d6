"""Use-cases for lawful bases, the ISP and the disclosure policy.

Publishing an ISP and adding or retiring a lawful basis change the whole hub: admins
only. Recording that an agency signed the ISP is agency administration (an admin, or a
coordinator of an area the agency serves). Reading them is open to any member of staff
(a coordinator sees the signatures of the agencies serving their areas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.agencies import KINDS
from hub.app.actor import Actor
from hub.app.catalogue import ANY_STAFF, WRITERS, use_case
from hub.app.rules import require_administers
from hub.app.runtime import Runtime
from hub.cases.tables import agency_areas
from hub.policy.bases import (
    Basis,
    add_basis,
    basis_history,
    basis_ids,
    current_basis,
    list_bases,
    parse_basis_spec,
    retire_basis,
)
from hub.policy.decide import explain
from hub.policy.fields import PURPOSES
from hub.policy.isp import (
    IspSignature,
    IspStatus,
    IspVersion,
    isp_status,
    list_isp_versions,
    publish_isp,
    sign_isp,
)
from hub.policy.policy import MAX_POLICY_BYTES, check_policy, load_policy
from hub.protocol.errors import HubError, ProtocolError

__all__ = [
    "KINDS",
    "MAX_POLICY_BYTES",
    "PURPOSES",
    "Basis",
    "IspOverview",
    "IspSignature",
    "IspVersion",
    "add_lawful_basis",
    "check_policy_file",
    "explain_policy",
    "explain_policy_file",
    "isp_overview",
    "lawful_basis",
    "lawful_bases",
    "publish",
    "retire_lawful_basis",
    "show_policy",
    "sign",
]


@dataclass(frozen=True, slots=True)
class IspOverview:
    """The current ISP, every published version, and each agency's signature status."""

    current: IspVersion | None
    versions: list[IspVersion]
    agencies: list[IspStatus]


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is a string", code="wrong-type")
    return value


@use_case("basis.list", *ANY_STAFF)
async def lawful_bases(rt: Runtime, actor: Actor, *, include_retired: bool = False) -> list[Basis]:
    """The current lawful bases (retired ones too if asked)."""
    async with rt.engine.connect() as conn:
        return await list_bases(conn, include_retired=include_retired)


@use_case("basis.show", *ANY_STAFF)
async def lawful_basis(rt: Runtime, actor: Actor, basis_id: str) -> list[Basis]:
    """Every version of one lawful basis, newest first (``not-found`` if none)."""
    async with rt.engine.connect() as conn:
        found = await basis_history(conn, _text(basis_id, "id")[:64])
    if not found:
        raise HubError("no such lawful basis", code="not-found")
    return found


@use_case("basis.add", "admin")
async def add_lawful_basis(rt: Runtime, actor: Actor, document: object) -> Basis:
    """Add a lawful basis, or a new version of an existing id (hub-wide: admins only)."""
    spec = parse_basis_spec(document)
    async with rt.engine.begin() as conn:
        return await add_basis(conn, spec, by=actor.log_name, now=rt.clock())


@use_case("basis.retire", "admin")
async def retire_lawful_basis(rt: Runtime, actor: Actor, basis_id: str) -> int:
    """Retire every version of a lawful basis; returns how many (admins only)."""
    async with rt.engine.begin() as conn:
        return await retire_basis(conn, _text(basis_id, "id"), by=actor.log_name, now=rt.clock())


@use_case("isp.status", *ANY_STAFF)
async def isp_overview(rt: Runtime, actor: Actor) -> IspOverview:
    """The current ISP, its versions, and each agency's latest signature (a coordinator:
    the agencies serving their areas)."""
    async with rt.engine.connect() as conn:
        current, statuses = await isp_status(conn)
        versions = await list_isp_versions(conn)
        if actor.role == "coordinator":
            mine = actor.areas or frozenset()
            rows = await conn.execute(
                select(agency_areas.c.agency_id).where(agency_areas.c.area_id.in_(sorted(mine)))
            )
            theirs = {r.agency_id for r in rows}
            statuses = [s for s in statuses if s.agency_id in theirs]
    return IspOverview(current, versions, statuses)


@use_case("isp.publish", "admin")
async def publish(
    rt: Runtime, actor: Actor, version: str, title: str, document_sha256: str | None = None
) -> IspVersion:
    """Publish a new ISP version; it becomes current at once (hub-wide: admins only)."""
    async with rt.engine.begin() as conn:
        return await publish_isp(
            conn,
            version=_text(version, "version"),
            title=_text(title, "title"),
            document_sha256=document_sha256,
            by=actor.log_name,
            now=rt.clock(),
        )


@use_case("isp.sign", *WRITERS)
async def sign(
    rt: Runtime,
    actor: Actor,
    agency_id: str,
    *,
    version: str,
    signed_by: str,
    signed_on: date | None = None,
) -> IspSignature:
    """Record that an agency signed an ISP version (default: today); an admin, or a
    coordinator of an area the agency serves."""
    now = rt.clock()
    async with rt.engine.begin() as conn:
        await require_administers(conn, actor, _text(agency_id, "agency"))
        return await sign_isp(
            conn,
            agency_id,
            version=_text(version, "version"),
            signed_by=_text(signed_by, "signed_by"),
            signed_on=signed_on or now.date(),
            recorded_by=actor.log_name,
            now=now,
        )


@use_case("policy.show", *ANY_STAFF)
async def show_policy(rt: Runtime, actor: Actor) -> dict[str, Any]:
    """The disclosure policy in force: its version and rules."""
    return rt.policy.to_json()


@use_case("policy.explain", *ANY_STAFF)
async def explain_policy(
    rt: Runtime, actor: Actor, *, purpose: str, kind: str, restricted: bool
) -> dict[str, Any]:
    """What ``purpose`` would carry to an agency of ``kind``, field by field, and why."""
    if purpose not in PURPOSES:
        raise ProtocolError(f"purpose must be one of {', '.join(PURPOSES)}")
    if kind not in KINDS:
        raise ProtocolError(f"kind must be one of {', '.join(KINDS)}")
    policy = rt.policy
    rule = policy.rule(purpose, kind)
    async with rt.engine.connect() as conn:
        basis = await current_basis(conn, rule.basis) if rule else None
    return explain(policy, basis, purpose=purpose, kind=kind, restricted=restricted)


async def explain_policy_file(
    rt: Runtime, path: Path | None, *, purpose: str, kind: str, restricted: bool
) -> dict[str, Any]:
    """``policy.explain`` for a policy file not yet in force (``path``; None: the hub's),
    checked against ``rt``'s lawful bases. An offline tool: it reads no case data."""
    async with rt.engine.connect() as conn:
        policy = load_policy(path, basis_ids=await basis_ids(conn))
        rule = policy.rule(purpose, kind)
        basis = await current_basis(conn, rule.basis) if rule else None
    return explain(policy, basis, purpose=purpose, kind=kind, restricted=restricted)


async def check_policy_file(rt: Runtime, data: bytes, *, source: str) -> list[str]:
    """The errors of a policy file (none: valid), checked against ``rt``'s current bases."""
    async with rt.engine.connect() as conn:
        known = await basis_ids(conn, current_only=True)
    return check_policy(data, source=source, basis_ids=known)
