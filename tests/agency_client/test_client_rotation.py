"""Key rotation: when a new key is due, and when an old key may be destroyed (clock injected)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agency_helpers import FAST, PASS

from agency_client.hub_client import HubClient
from agency_client.keystore import KeyDirectory
from agency_client.rotation import KeyRotation, current_key, retirable, rotation_due
from agency_client.store import STORE_FILE, KeyRecord, Store
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
GRACE = timedelta(minutes=5)
OLD, NEW, NEWER = "aa" * 32, "bb" * 32, "cc" * 32


def key(
    fingerprint: str,
    created: datetime,
    announced: datetime | None = None,
    destroyed: datetime | None = None,
) -> KeyRecord:
    return KeyRecord(fingerprint, "s", created, announced, destroyed)


ROTATED_AT = T0 + WEEK
ROTATED = [key(OLD, T0, T0), key(NEW, ROTATED_AT, ROTATED_AT)]


def test_rotation_is_due_when_the_newest_key_is_a_week_old() -> None:
    keys = [key(OLD, T0, T0)]
    assert not rotation_due(keys, T0 + WEEK - timedelta(seconds=1), WEEK)
    assert rotation_due(keys, T0 + WEEK, WEEK)
    assert not rotation_due(ROTATED, T0 + WEEK + timedelta(days=6), WEEK)
    assert rotation_due(ROTATED, T0 + 2 * WEEK, WEEK)
    assert not rotation_due([], T0, WEEK)  # nothing to rotate from before enrolment
    # A made-but-unannounced key counts: announce it, do not make yet another.
    assert not rotation_due([key(OLD, T0, T0), key(NEW, T0 + WEEK)], T0 + WEEK, WEEK)
    assert rotation_due([key(OLD, T0, T0, T0 + WEEK)], T0 + WEEK, timedelta(days=30)) is False
    assert rotation_due([key(OLD, T0, T0), key(NEW, T0 + WEEK, None, T0 + WEEK)], T0 + WEEK, WEEK)


def test_the_current_key_is_the_newest_announced_one() -> None:
    assert current_key(ROTATED) == ROTATED[1]
    assert current_key([key(OLD, T0, T0), key(NEW, T0 + WEEK)]) == key(OLD, T0, T0)
    assert current_key([]) is None


def empty_poll(at: datetime) -> list[str]:
    return retirable(ROTATED, poll_started=at, poll_empty=True, grace=GRACE)


def test_an_old_key_is_destroyed_after_an_empty_poll_that_started_after_the_grace() -> None:
    assert empty_poll(ROTATED_AT) == []
    assert empty_poll(ROTATED_AT + GRACE - timedelta(microseconds=1)) == []
    assert empty_poll(ROTATED_AT + GRACE) == [OLD]
    assert empty_poll(ROTATED_AT + timedelta(days=3)) == [OLD]


def test_an_old_key_is_kept_while_the_mailbox_holds_anything() -> None:
    later = ROTATED_AT + timedelta(hours=1)
    assert retirable(ROTATED, poll_started=later, poll_empty=False) == []


def test_only_an_announced_key_supersedes() -> None:
    made_only = [key(OLD, T0, T0), key(NEW, T0 + WEEK)]
    assert retirable(made_only, poll_started=T0 + 2 * WEEK, poll_empty=True) == []
    three = [key(OLD, T0, T0), key(NEW, T0 + WEEK, T0 + WEEK), key(NEWER, T0 + 2 * WEEK)]
    later = T0 + 2 * WEEK + timedelta(hours=1)
    assert retirable(three, poll_started=later, poll_empty=True) == [OLD]
    destroyed = [key(OLD, T0, T0, T0 + WEEK), key(NEW, T0 + WEEK, T0 + WEEK)]
    assert retirable(destroyed, poll_started=later, poll_empty=True) == []


async def test_retire_deletes_the_key_file_and_records_it(tmp_path: Path) -> None:
    directory = KeyDirectory(tmp_path / "keys")
    identity, first = directory.create(PASS, strength=FAST)
    second = EncryptionKeyPair.generate()
    directory.add_encryption_key(second, PASS, strength=FAST)
    clock = [ROTATED_AT + timedelta(minutes=10)]
    with Store(tmp_path / STORE_FILE) as store:
        store.add_key(first.fingerprint, first.suite, T0, T0)
        store.add_key(second.fingerprint, second.suite, ROTATED_AT, ROTATED_AT)
        async with HubClient("http://127.0.0.1:9", "police-north", identity) as client:
            rotation = KeyRotation(
                client, store, directory, PASS, grace=GRACE, clock=lambda: clock[0]
            )
            assert set(await rotation.load()) == {first.fingerprint, second.fingerprint}
            assert await rotation.retire(poll_started=ROTATED_AT, poll_empty=True) == []
            assert await rotation.retire(poll_started=clock[0], poll_empty=False) == []
            done = await rotation.retire(poll_started=clock[0], poll_empty=True)
            assert done == [first.fingerprint]
            assert set(rotation.keys) == {second.fingerprint}
            assert await rotation.retire(poll_started=clock[0], poll_empty=True) == []
        records = {k.fingerprint: k for k in store.key_records()}
    assert records[first.fingerprint].destroyed_at == clock[0]
    assert records[second.fingerprint].destroyed_at is None
    assert set(directory.encryption_keys(PASS)) == {second.fingerprint}
    assert not directory.encryption_key_path(first.fingerprint).exists()
    assert directory.identity(PASS).fingerprint == identity.fingerprint


def test_announcements_outlive_two_rotations() -> None:
    client = HubClient("http://127.0.0.1:9", "x", IdentityKeyPair.generate())
    rotation = KeyRotation(client, None, None, PASS, every=timedelta(days=30))  # type: ignore[arg-type]
    assert rotation.valid_for == timedelta(days=60)
    assert KeyRotation(client, None, None, PASS).valid_for == timedelta(days=14)  # type: ignore[arg-type]
