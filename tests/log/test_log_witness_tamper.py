"""Attacks on the log's checkpoints and witnesses, through the tamper harness
(``test_log_tamper``: 21 entries, three heads, each checkpoint cosigned by police and
health; SQLite and PostgreSQL): ``marac-hub log verify`` run as a real command fails,
exits non-zero and says what is wrong. Here the insider also holds the hub's signing key
(stolen): what catches them is the witnesses' cosignatures, or their absence.

(The witnesses' own side of these attacks, ``agency-client witness`` refusing and
reporting, is in ``tests/agency_client/test_witness_real_hub.py``.)
"""

# ruff: noqa: F811 - ``hub`` is the harness's fixture, imported, then named by each test

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from test_log_tamper import START, Hub, _identity, entry, hub  # noqa: F401 - its fixture

from hub.log.heads import sign_head
from hub.log.store import prepare
from hub.log.tables import (
    log_blocks,
    log_cosignatures,
    log_entries,
    log_heads,
    log_index,
    log_index_cases,
    log_index_categories,
    log_index_subjects,
    log_nodes,
    log_witness_alarms,
)
from hub.storage.engine import create_engine


def _rebuild(hub: Hub, entries: list[bytes]) -> None:
    """Replace the log with ``entries``, every stored hash recomputed (a careful insider)."""
    rows = prepare(0, [], entries)
    hub.sql(
        delete(log_nodes),
        delete(log_blocks),
        delete(log_entries),
        *(
            insert(table).values([dict(zip(cols, r, strict=True)) for r in batch])
            for table, cols, batch in (
                (log_entries, ("idx", "entry"), rows.entries),
                (log_blocks, ("block", "size", "hashes"), rows.blocks),
                (log_nodes, ("level", "position", "hash"), rows.nodes),
            )
            if batch
        ),
    )


def _resign(hub: Hub, at: datetime) -> None:
    """Sign a head and checkpoint over the log as it now is, with the stolen hub key."""

    async def run() -> None:
        engine = create_engine(hub.settings.db_url)
        try:
            identity = _identity(hub.settings)
            await sign_head(engine, identity, hub.settings.hub_id, now=at)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _entries(hub: Hub) -> list[bytes]:
    return [bytes(r[0]) for r in hub.rows(select(log_entries.c.entry).order_by(log_entries.c.idx))]


def test_the_witnessed_log_verifies(hub: Hub, capsys: Any) -> None:
    status, line = hub.verify(capsys)
    assert status == 0, line
    assert len(hub.rows(select(log_cosignatures.c.id))) == 6  # 3 checkpoints x 2 witnesses


def test_a_history_rewritten_and_resigned_with_the_stolen_key_is_caught(
    hub: Hub, capsys: Any
) -> None:
    entries = _entries(hub)
    entries[3] = entries[3].replace(b"coordinator:sam", b"coordinator:eve")
    _rebuild(hub, entries)
    hub.sql(delete(log_heads))  # every head and checkpoint signed again with the key
    _resign(hub, START + timedelta(minutes=21))
    status, line = hub.verify(capsys)
    assert status == 1
    assert "is not the checkpoint" in line and "its history was rewritten" in line


def test_a_rewrite_that_also_deletes_the_cosignatures_fails_on_quorum(
    hub: Hub, capsys: Any
) -> None:
    entries = _entries(hub)
    entries[3] = entries[3].replace(b"coordinator:sam", b"coordinator:eve")
    _rebuild(hub, entries)
    hub.sql(delete(log_heads), delete(log_cosignatures))
    _resign(hub, START + timedelta(minutes=21))
    status, line = hub.verify(capsys)
    assert status == 1
    assert "the checkpoint of size 21" in line
    assert "is not covered by a checkpoint cosigned by 2 agencies of at least 2 kinds" in line


def test_a_deleted_cosignature_fails_verify_on_quorum(hub: Hub, capsys: Any) -> None:
    newest = max(r[0] for r in hub.rows(select(log_cosignatures.c.size)))
    hub.sql(
        delete(log_cosignatures).where(
            log_cosignatures.c.size == newest, log_cosignatures.c.agency_id == "health-east"
        )
    )
    status, line = hub.verify(capsys)
    assert status == 1
    assert "the checkpoint of size 21" in line and "the largest is of size 13" in line


def test_a_log_rolled_back_below_a_cosigned_checkpoint_is_caught(hub: Hub, capsys: Any) -> None:
    _rebuild(hub, _entries(hub)[:13])  # the last 8 entries dropped, hashes consistent
    hub.sql(
        *(
            delete(t).where(t.c.idx >= 13)
            for t in (log_index_subjects, log_index_cases, log_index_categories, log_index)
        ),
        delete(log_heads).where(log_heads.c.size > 13),
    )
    status, line = hub.verify(capsys)
    assert status == 1
    assert "the log holds 13 entries, fewer than the checkpoint of size 21" in line
    assert "rolled back" in line


def test_a_forged_cosignature_row_is_caught(hub: Hub, capsys: Any) -> None:
    """A cosignature of the newest checkpoint, the one that makes its quorum."""
    row = hub.rows(
        select(log_cosignatures.c.id, log_cosignatures.c.signature).where(
            log_cosignatures.c.size == 21
        )
    )[0]
    forged = bytes(row[1][:-1]) + bytes([row[1][-1] ^ 1])
    hub.sql(
        update(log_cosignatures).where(log_cosignatures.c.id == row[0]).values(signature=forged)
    )
    status, line = hub.verify(capsys)
    assert status == 1 and "stored cosignature by" in line and "does not verify" in line


def test_an_edited_checkpoint_note_is_caught(hub: Hub, capsys: Any) -> None:
    head_id, note = hub.rows(select(log_heads.c.id, log_heads.c.checkpoint))[1]
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the size, without the key to sign it
    hub.sql(update(log_heads).where(log_heads.c.id == head_id).values(checkpoint="\n".join(lines)))
    status, line = hub.verify(capsys)
    assert status == 1 and f"the checkpoint stored with head {head_id} does not verify" in line


def test_a_fresh_checkpoint_waits_for_its_witnesses_within_the_grace(hub: Hub, capsys: Any) -> None:
    """The newest checkpoint, a minute old and not cosigned yet, is within the grace."""
    hub.append([entry(21, at=datetime.now(UTC))])
    _resign(hub, datetime.now(UTC) - timedelta(minutes=1))
    status, line = hub.verify(capsys)
    assert status == 0, line


def test_emptied_checkpoint_columns_do_not_escape_the_quorum(hub: Hub, capsys: Any) -> None:
    """An insider deletes the newest cosignatures and empties the checkpoint notes (as if
    the heads were signed before checkpoints existed): the heads still need witnesses."""
    hub.sql(
        delete(log_cosignatures).where(log_cosignatures.c.size == 21),
        update(log_heads).values(checkpoint=None),
    )
    status, line = hub.verify(capsys)
    assert status == 1 and "the checkpoint of size 21" in line


def test_log_checkpoint_and_log_witnesses_show_the_witnesses_and_an_alarm(
    hub: Hub, capsys: Any
) -> None:
    status, out, _ = hub.run(capsys, "log", "checkpoint")
    assert status == 0
    names = [line.split()[1] for line in out.splitlines() if line.startswith("\u2014 ")]
    assert names == [
        "marac-hub.hub/log",
        "police-north.witness.marac-hub.hub/log",
        "health-east.witness.marac-hub.hub/log",
    ]
    status, out, _ = hub.run(capsys, "log", "witnesses")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == (
        "log marac-hub.hub/log: each checkpoint needs 2 agencies of at least 2 kinds "
        "within 30 minutes"
    )
    assert (
        lines[1] == "newest checkpoint: size 21, witnessed by a quorum (largest witnessed: size 21)"
    )
    assert any(
        line.startswith("police-north (police): last cosigned size 21 at ") for line in lines
    )
    assert lines[-1] == "no fork alarms"
    note = out  # any text will do for the stored notes' columns
    hub.sql(
        log_witness_alarms.insert().values(
            agency_id="police-north",
            problem="smaller",
            cosigned_size=21,
            offered_size=13,
            cosigned=note,
            offered=note,
            reported_at=datetime.now(UTC),
        )
    )
    status, out, _ = hub.run(capsys, "log", "witnesses")
    assert status == 1
    assert out.splitlines()[-1].endswith(
        "police-north: offered size 13, smaller than the checkpoint of size 21 it cosigned"
    )


def test_a_forged_cosignature_of_another_root_is_reported_as_forged(hub: Hub, capsys: Any) -> None:
    """A row claiming a witness cosigned another root at size 5: not a rewrite of the log,
    a forged row."""
    row = hub.rows(select(log_cosignatures).where(log_cosignatures.c.size == 5))[0]
    hub.sql(update(log_cosignatures).where(log_cosignatures.c.id == row.id).values(root=bytes(32)))
    status, line = hub.verify(capsys)
    assert status == 1 and "of the checkpoint of size 5 does not verify" in line
