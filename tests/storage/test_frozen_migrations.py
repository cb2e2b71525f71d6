"""The migrations are frozen: each revision spells out its own operations and imports
nothing of the hub, and stepping through them all gives today's tables exactly (Alembic's
``compare_metadata``), on SQLite and on PostgreSQL. A database at an old revision, with
data in it, upgrades to head with its data whole and its log still verifying."""

from __future__ import annotations

import ast
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from engines import ENGINES, database_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import hub.server
import hub.storage
from hub.agencies.tables import agencies
from hub.cases.tables import areas, case_keys, case_subjects, cases
from hub.crypto import merkle
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.tree_head import sign_tree_head
from hub.delivery.tables import outbox
from hub.log import LogEntry, entry_bytes, store
from hub.log.heads import sign_head
from hub.log.verify import verify_log
from hub.meetings.tables import meetings
from hub.policy.tables import lawful_bases
from hub.storage import schema
from hub.storage.engine import create_engine
from hub.storage.tables import metadata
from hub.users.tables import staff_tokens, users

MIGRATIONS = Path(hub.storage.__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REF = "M-2026-0001"
LOG_SIZE = 70  # two full blocks of 32 and a partial one; one log_nodes row (level 6)


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database on each engine (PostgreSQL skipped, saying why, without a server)."""
    async with database_url(request.param, tmp_path) as url:
        eng = create_engine(url)
        try:
            yield eng
        finally:
            await eng.dispose()


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


async def _step(engine: AsyncEngine, target: str, *, down: bool = False) -> None:
    move = command.downgrade if down else command.upgrade
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: move(_config(sync), target))


async def _differences(engine: AsyncEngine) -> list[Any]:
    """How the database differs from the tables the code defines (types and server
    defaults included)."""

    def compare(sync: Connection) -> list[Any]:
        opts = {"compare_type": True, "compare_server_default": True}
        return list(compare_metadata(MigrationContext.configure(sync, opts=opts), metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))


async def test_an_empty_database_migrated_to_head_is_the_metadata(engine: AsyncEngine) -> None:
    await _step(engine, "head")
    assert await _differences(engine) == []
    assert await _tables(engine) == set(metadata.tables) | {"alembic_version"}


async def test_down_to_base_and_up_again(engine: AsyncEngine) -> None:
    await _step(engine, "head")
    await _step(engine, "0012", down=True)
    # the comparison sees a difference where there is one: 0013's column (and the later
    # revisions' tables and columns)
    added = [d for d in await _differences(engine) if isinstance(d, tuple) and d[0] == "add_column"]
    assert ("areas", "four_eyes") in {(d[2], d[3].name) for d in added}
    await _step(engine, "base", down=True)
    assert await _tables(engine) <= {"alembic_version"}
    await _step(engine, "head")
    assert await _differences(engine) == []


# --- A database at 0008 (before the log was reshaped), with data, upgraded to head.


def _entry(n: int) -> LogEntry:
    return LogEntry(
        kind="disclosure",
        at=AT,
        actor="hub",
        envelope_id=f"ENV{n:023d}",
        recipient="police",
        purpose="agenda",
        case_refs=(REF,),
        data_categories=("identity", "risk"),
    )


def _type(value: object) -> sa.types.TypeEngine[Any]:
    kinds: list[tuple[type, Callable[[], sa.types.TypeEngine[Any]]]] = [
        (bool, sa.Boolean),
        (int, sa.BigInteger),
        (datetime, lambda: sa.DateTime(timezone=True)),
        (date, sa.Date),
        (bytes, sa.LargeBinary),
    ]
    return next((make() for kind, make in kinds if isinstance(value, kind)), sa.String())


def _insert(conn: Connection, table: str, **row: object) -> None:
    """Insert ``row`` as the revision's schema allows: named columns only, no hub table."""
    columns = [sa.column(name, _type(value)) for name, value in row.items()]
    conn.execute(sa.table(table, *columns).insert().values(**row))


def _log_at_0008(conn: Connection, identity: IdentityKeyPair) -> list[bytes]:
    """The log in the 0002 layout: entries with their leaf hashes and search columns,
    every subtree hash a ``log_nodes`` row, and a signed head."""
    data = [entry_bytes(_entry(i)) for i in range(LOG_SIZE)]
    levels = [[merkle.leaf_hash(d) for d in data]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        )
    for i, raw in enumerate(data):
        _insert(
            conn,
            "log_entries",
            idx=i,
            entry=raw,
            leaf_hash=levels[0][i],
            kind="disclosure",
            at=AT,
            agency="police",
            purpose="agenda",
            envelope_id=f"ENV{i:023d}",
            override=False,
        )
        _insert(conn, "log_case_refs", idx=i, case_ref=REF)  # part of the index only
    for level, hashes in enumerate(levels[1:], start=1):
        for position, digest in enumerate(hashes):
            _insert(conn, "log_nodes", level=level, position=position, hash=digest)
    head = sign_tree_head(identity, "hub", LOG_SIZE, merkle.root(data), AT)
    _insert(
        conn, "log_heads", size=LOG_SIZE, root=head.root, timestamp=AT, signature=head.signature
    )
    return data


def _hub_at_0008(conn: Connection, identity: IdentityKeyPair) -> list[bytes]:
    """Migrate to 0008 and write a coordinator, an agency, an area, a case with its key and
    a subject, a meeting, a queued envelope, delivery settings and a log."""
    command.upgrade(_config(conn), "0008")
    _insert(
        conn, "users", name="cora", role="coordinator", token_id="t1", token_hash="h", created_at=AT
    )
    _insert(
        conn,
        "agencies",
        id="police",
        name="Police",
        kind="police",
        status="active",
        isp_version="1",
        isp_signed_by="Chief",
        isp_signed_on=date(2026, 1, 5),
        created_at=AT,
    )
    _insert(conn, "areas", id="north", name="North MARAC", created_at=AT)
    _insert(conn, "agency_areas", area_id="north", agency_id="police")
    _insert(conn, "user_areas", area_id="north", user_name="cora")
    _insert(
        conn,
        "cases",
        ref=REF,
        area_id="north",
        referred_on=date(2026, 11, 2),
        last_referral_on=date(2026, 11, 2),
        created_at=AT,
        created_by="cora",
        referring_agency="police",
        criterion="visible_high_risk",
        is_repeat=False,
        tool="dash",
        yes_count=15,
        level="high",
        children_count=2,
        perpetrator_must_not_know=True,
        consent="given",
        status="open",
        answers=b"sealed answers",
    )
    _insert(conn, "case_keys", case_ref=REF, wrapped=b"wrapped key", created_at=AT)
    _insert(
        conn,
        "case_subjects",
        subject_id="S1",
        case_ref=REF,
        role="victim",
        position=0,
        match_key="mk",
        details=b"sealed details",
    )
    _insert(
        conn,
        "meetings",
        id="MEETING1",
        area_id="north",
        meeting_date=date(2026, 12, 1),
        created_at=AT,
        created_by="cora",
    )
    _insert(
        conn,
        "outbox",
        envelope_id="E" * 26,
        agency_id="police",
        type="agenda",
        case_ref=REF,
        recipient_key="k" * 64,
        digest="d" * 64,
        envelope=b"sealed envelope",
        status="queued",
        created_at=AT,
        expires_at=AT + timedelta(days=30),
    )
    _insert(
        conn,
        "agency_delivery",
        agency_id="police",
        transport="webhook",
        format="json",
        updated_at=AT,
    )
    return _log_at_0008(conn, identity)


def _one(conn: Connection, table: sa.Table) -> Any:
    return conn.execute(sa.select(table)).one()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite's are naive


def _check_rows(conn: Connection) -> None:
    """The rows written at 0008, read through today's tables."""
    area = _one(conn, areas)
    assert (area.name, area.four_eyes, area.target_days) == ("North MARAC", True, 42)
    case = _one(conn, cases)
    assert (case.ref, case.area_id, case.referred_on) == (REF, "north", date(2026, 11, 2))
    assert (case.perpetrator_must_not_know, case.legal_hold) == (True, False)
    assert case.answers == b"sealed answers"
    assert _one(conn, case_keys).wrapped == b"wrapped key"
    assert _one(conn, case_subjects).details == b"sealed details"
    assert _one(conn, meetings).meeting_date == date(2026, 12, 1)
    queued = _one(conn, outbox)
    assert (queued.envelope, queued.status) == (b"sealed envelope", "queued")
    assert _aware(queued.created_at) == AT
    assert _one(conn, agencies).transport == "mailbox"
    assert _one(conn, users).name == "cora"
    token = _one(conn, staff_tokens)  # 0018 moved her token, expiring 90 days from then
    assert (token.id, token.user_name, token.token_hash, token.role) == ("t1", "cora", "h", None)
    assert _aware(token.expires_at) > datetime.now(UTC) + timedelta(days=89)
    seeded = conn.execute(sa.select(lawful_bases.c.id)).scalars().all()
    assert len(seeded) == 6 and "public-task" in seeded


async def test_a_database_at_0008_with_data_upgrades_to_head(engine: AsyncEngine) -> None:
    identity = IdentityKeyPair.generate()
    async with engine.begin() as conn:
        data = await conn.run_sync(lambda sync: _hub_at_0008(sync, identity))
    await _step(engine, "head")
    assert await _differences(engine) == []
    async with engine.connect() as conn:
        await conn.run_sync(_check_rows)
        assert await store.size(conn) == LOG_SIZE
        assert await store.root(conn, LOG_SIZE) == merkle.root(data)
        verified = await verify_log(conn, identity.public, "hub", index=False)  # see _hub_at_0008
        assert (verified.size, verified.heads) == (LOG_SIZE, 1)
    # the domain at head writes on the upgraded tables: an envelope, a log entry, a head
    async with engine.begin() as conn:
        await conn.execute(
            outbox.insert().values(
                envelope_id="F" * 26,
                agency_id="police",
                type="agenda",
                recipient_key="k" * 64,
                digest="d" * 64,
                envelope=b"another",
                status="queued",
                created_at=AT,
                expires_at=AT,
            )
        )
        assert await store.append(conn, [_entry(LOG_SIZE)]) == [LOG_SIZE]
    await sign_head(engine, identity, "hub")
    async with engine.connect() as conn:
        seqs = (await conn.execute(sa.select(outbox.c.seq).order_by(outbox.c.seq))).scalars().all()
        assert len(seqs) == 2 and seqs[0] < seqs[1]
        verified = await verify_log(conn, identity.public, "hub", index=False)  # see _hub_at_0008
        assert (verified.size, verified.heads) == (LOG_SIZE + 1, 2)
        if engine.dialect.name == "postgresql":  # 0011's NOTIFY trigger is in place
            triggers = await conn.execute(
                sa.text("SELECT tgname FROM pg_trigger WHERE tgname = 'outbox_notify'")
            )
            assert triggers.scalars().all() == ["outbox_notify"]


# --- The revisions import nothing of the hub.

_ALLOWED = {"alembic", "sqlalchemy"}


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_no_revision_imports_the_hub_or_builds_from_metadata() -> None:
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) >= 13
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for name in _imports(tree):
            top = name.split(".")[0]
            assert top in _ALLOWED or top in sys.stdlib_module_names, f"{path.name} imports {name}"
        calls = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not calls & {"create_all", "drop_all"}, f"{path.name} builds tables from a metadata"


def test_the_head_migrate_checks_for_is_the_newest_migration_script() -> None:
    """``migrate`` tells a database at head by ``schema.HEAD`` without loading Alembic; a
    new migration must move it (else every start would find the schema behind, or at
    head when it is not)."""
    assert frozenset(schema.schema_heads()) == schema.HEAD
