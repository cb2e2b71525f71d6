"""The run loop against a real hub: store, acknowledge, hand over, recover, rotate, stop."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from agency_helpers import FAST, PASS, Agency, enrolled, notice, opened, staff

from agency_client.hub_client import AckResult, HubClient, HubResponseError, HubUnavailable
from agency_client.rotation import KeyRotation
from agency_client.runner import Runner, RunnerSettings, backoff_delay
from agency_client.sinks import FolderSink, Sink
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.protocol.messages import Receipt
from hub.testing import RunningHub


@pytest.fixture
async def police(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[Agency]:
    agency = await enrolled(http, hub, tmp_path, "police-north")
    yield agency
    await agency.client.close()
    agency.store.close()


class Clock:
    """A settable clock for rotation decisions (requests keep the real time)."""

    def __init__(self, offset: timedelta = timedelta()) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def runner_for(
    agency: Agency,
    sink: Sink | None,
    client: HubClient | None = None,
    clock: Clock | None = None,
    **settings: object,
) -> Runner:
    client = client or agency.client
    clock = clock or Clock()
    rotation = KeyRotation(client, agency.store, agency.data.keys, PASS, strength=FAST, clock=clock)
    hub_key = agency.store.hub_key()
    assert hub_key is not None
    return Runner(
        client,
        agency.store,
        rotation,
        hub_key,
        sink,
        settings=RunnerSettings(**settings),  # type: ignore[arg-type]
        clock=clock,
    )


def files(folder: Path) -> dict[str, dict[str, object]]:
    if not folder.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in folder.iterdir()}


async def test_a_cycle_stores_acknowledges_and_hands_over(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, tmp_path: Path
) -> None:
    sent = [await notice(http, hub, f"Notice {n}.") for n in (1, 2)]
    runner = runner_for(police, FolderSink(tmp_path / "inbox"))
    await runner.start()
    report = await runner.cycle(wait=5)
    assert report is not None
    assert (report.received, report.stored, report.acknowledged, report.handed) == (2, 2, 2, 2)
    got = files(tmp_path / "inbox")
    assert set(got) == {s[0]["id"] for s in sent}
    assert sorted(m["payload"]["text"] for m in got.values()) == ["Notice 1.", "Notice 2."]  # type: ignore[index]
    assert await police.client.poll() == []
    report = await runner.cycle(wait=0)
    assert report is not None and (report.received, report.handed) == (0, 0)


class LosesReceipts(HubClient):
    """A client whose connection drops whenever it sends receipts (as if it crashed)."""

    async def send_receipts(self, receipts: Sequence[Receipt]) -> AckResult:
        raise HubUnavailable("connection reset while sending receipts")


async def test_a_crash_between_store_and_ack_re_acknowledges_without_handing_twice(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, tmp_path: Path
) -> None:
    [sent] = await notice(http, hub, "Agenda published.")
    inbox = tmp_path / "inbox"
    async with LosesReceipts(hub.url, police.id, police.identity) as flaky:
        with pytest.raises(HubUnavailable):
            await runner_for(police, FolderSink(inbox), client=flaky).cycle(wait=5)
    assert set(files(inbox)) == {sent["id"]}  # stored, so already handed on
    [info] = police.store.unacknowledged()
    assert [e.header.id for e in await police.client.poll()] == [sent["id"]]

    restarted = runner_for(police, FolderSink(inbox))
    await restarted.start()
    (inbox / f"{sent['id']}.json").unlink()  # so a second hand-off would show
    report = await restarted.cycle(wait=0)
    assert report is not None
    assert (report.received, report.duplicates, report.stored, report.acknowledged) == (1, 1, 0, 1)
    assert report.handed == 0 and files(inbox) == {}
    assert await police.client.poll() == []
    assert police.store.unacknowledged() == []
    assert info.envelope_id == sent["id"]


async def test_a_message_acknowledged_but_not_handed_is_handed_on_restart(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, tmp_path: Path
) -> None:
    [sent] = await notice(http, hub, "Agenda published.")
    report = await runner_for(police, None).cycle(wait=5)  # no sink: kept in the store
    assert report is not None and (report.acknowledged, report.handed) == (1, 0)
    assert await police.client.poll() == []
    restarted = runner_for(police, FolderSink(tmp_path / "inbox"))
    await restarted.start()  # hands over before it ever polls
    assert set(files(tmp_path / "inbox")) == {sent["id"]}
    assert police.store.unhanded() == []


async def test_an_envelope_that_does_not_open_is_logged_and_not_acknowledged(
    hub: RunningHub,
    http: aiohttp.ClientSession,
    police: Agency,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The hub is told of a key whose private half this client does not hold.
    await police.client.announce_key(EncryptionKeyPair.generate().public)
    [sent] = await notice(http, hub, "Secret words.")
    runner = runner_for(police, FolderSink(tmp_path / "inbox"))
    await runner.start()
    with caplog.at_level(logging.DEBUG):
        report = await runner.cycle(wait=5)
    assert report is not None and report.unopened == [sent["id"]]
    assert report.acknowledged == 0 and files(tmp_path / "inbox") == {}
    assert [e.header.id for e in await police.client.poll()] == [sent["id"]]
    assert sent["id"] in caplog.text and "Secret words" not in caplog.text


async def test_a_receipt_the_hub_will_never_take_does_not_block_the_others(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency
) -> None:
    stray = opened(IdentityKeyPair.generate(), EncryptionKeyPair.generate(), to=police.id)
    police.store.add(stray, "00" * 32, datetime.now(UTC))  # unknown to the hub
    [sent] = await notice(http, hub, "Agenda published.")
    report = await runner_for(police, None).cycle(wait=5)
    assert report is not None and report.acknowledged == 1
    assert await police.client.poll() == []
    refused = police.store.info(stray.header.id)
    assert refused is not None and refused.ack_refused == "unknown-envelope"
    assert police.store.unacknowledged() == []
    assert police.store.info(sent["id"]).acked_at is not None  # type: ignore[union-attr]


async def test_rotation_announces_a_new_key_and_destroys_the_old_one_when_clear(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, tmp_path: Path
) -> None:
    [old_key] = police.encryption_keys()
    [before] = await notice(http, hub, "Sealed to the first key.")
    clock = Clock(timedelta(days=7, minutes=1))
    runner = runner_for(police, FolderSink(tmp_path / "inbox"), clock=clock)
    await runner.start()

    report = await runner.cycle(wait=5)  # rotates first, then receives the old envelope
    assert report is not None and report.rotated is not None and report.handed == 1
    new_key = report.rotated
    assert set(police.encryption_keys()) == {old_key, new_key}
    assert report.destroyed == []  # the poll began within the grace after the announcement

    clock.offset += timedelta(minutes=6)
    [after] = await notice(http, hub, "Sealed to the new key.")
    report = await runner.cycle(wait=5)
    assert report is not None and report.handed == 1 and report.rotated is None
    assert report.destroyed == []  # the mailbox was not empty
    report = await runner.cycle(wait=0)
    assert report is not None and report.received == 0
    assert report.destroyed == [old_key]
    assert set(police.encryption_keys()) == {new_key}
    got = files(tmp_path / "inbox")
    assert got[before["id"]]["recipient_key"] == old_key
    assert got[after["id"]]["recipient_key"] == new_key
    records = {k.fingerprint: k for k in police.store.key_records()}
    assert records[old_key].destroyed_at is not None
    assert records[new_key].announced_at is not None


async def test_a_key_made_but_not_announced_is_announced_next_time(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency
) -> None:
    pending = EncryptionKeyPair.generate()
    now = datetime.now(UTC)
    police.store.add_key(pending.fingerprint, pending.suite, now, None)
    police.data.keys.add_encryption_key(pending, PASS, strength=FAST)
    lost = "dd" * 32  # recorded, then the process died before writing its file
    police.store.add_key(lost, pending.suite, now - timedelta(hours=2), None)
    busy = "ee" * 32  # recorded a moment ago by a rotation in another process
    police.store.add_key(busy, pending.suite, now, None)
    runner = runner_for(police, None)
    await runner.start()
    await runner.cycle(wait=0)
    records = {k.fingerprint: k for k in police.store.key_records()}
    assert records[pending.fingerprint].announced_at is not None and lost not in records
    assert records[busy].announced_at is None
    await notice(http, hub, "To the announced key.")
    [envelope] = await police.client.poll(wait=5)
    assert envelope.header.recipient_key == pending.fingerprint


async def test_stop_ends_a_long_poll_promptly(police: Agency) -> None:
    runner = runner_for(police, None, wait=60)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(1)
    started = time.monotonic()
    runner.stop()
    await asyncio.wait_for(task, 60)
    assert time.monotonic() - started < 30  # not the long poll's 60 s, whatever the load


async def test_connection_errors_back_off_with_jitter(
    police: Agency, caplog: pytest.LogCaptureFixture
) -> None:
    async with HubClient("http://127.0.0.1:9", police.id, police.identity) as unreachable:
        runner = runner_for(police, None, client=unreachable, backoff_initial=0.05, backoff_max=0.2)
        with caplog.at_level(logging.WARNING, logger="agency_client.runner"):
            task = asyncio.create_task(runner.run())
            await asyncio.sleep(1)
            runner.stop()
            await asyncio.wait_for(task, 5)
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert 3 <= len(retries) <= 40
    assert all("hub-unreachable" in r.getMessage() for r in retries)


def test_backoff_delay_grows_caps_and_jitters() -> None:
    def delays(rng: float) -> list[float]:
        return [backoff_delay(n, initial=1, maximum=60, rng=lambda: rng) for n in range(10)]

    assert delays(0.0) == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert delays(1.0) == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert backoff_delay(10_000, initial=1, maximum=60) <= 60


async def test_a_suspended_agency_stops_the_loop_with_the_hubs_error(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency
) -> None:
    await staff(http, hub, "POST", f"/api/v1/agencies/{police.id}/suspend")
    with pytest.raises(HubResponseError) as caught:
        await asyncio.wait_for(runner_for(police, None).run(), 10)
    assert caught.value.code == "agency-suspended"


async def test_a_key_rotated_by_another_process_is_picked_up(
    hub: RunningHub, http: aiohttp.ClientSession, police: Agency, tmp_path: Path
) -> None:
    runner = runner_for(police, FolderSink(tmp_path / "inbox"))
    await runner.start()  # loads the keys there are now
    async with HubClient(hub.url, police.id, police.identity) as other:
        rotated = await KeyRotation(
            other, police.store, police.data.keys, PASS, strength=FAST
        ).rotate()  # as 'agency-client keys rotate' does, beside the running client
    [sent] = await notice(http, hub, "Sealed to the key made elsewhere.")
    report = await runner.cycle(wait=5)
    assert report is not None and report.handed == 1 and report.unopened == []
    assert files(tmp_path / "inbox")[sent["id"]]["recipient_key"] == rotated
