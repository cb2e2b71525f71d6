"""The signature checker's helper process gives the answers inline verification gives,
and when it dies, hangs or is closed, batches are verified inline: never refused, never
left waiting."""

from __future__ import annotations

import asyncio
import os
import signal
import struct

import pytest

from hub.crypto import _signature_helper, signature_checker
from hub.crypto.keys import IdentityKeyPair
from hub.crypto.signature_checker import SignatureChecker, Triple

SIGNER, OTHER = IdentityKeyPair.generate(), IdentityKeyPair.generate()


def _batch(count: int = 12) -> list[Triple]:
    """Good signatures, with every kind of bad one among them."""
    messages = [os.urandom(40 + i) for i in range(count)]
    triples: list[Triple] = [(SIGNER.public, SIGNER.sign(m), m) for m in messages]
    good = triples[0][1]
    triples[1] = (SIGNER.public, SIGNER.sign(b"another message"), messages[1])
    triples[2] = (OTHER.public, SIGNER.sign(messages[2]), messages[2])  # the wrong key
    triples[3] = (SIGNER.public, good[:63], messages[3])  # too short
    triples[4] = (SIGNER.public, good + b"\x00", messages[4])  # too long
    triples[5] = (SIGNER.public, bytes(64), messages[5])
    triples[6] = (SIGNER.public, bytes([good[0] ^ 1]) + good[1:], messages[0])
    return triples


def _inline(triples: list[Triple]) -> list[bool]:
    return [key.verify(signature, message) for key, signature, message in triples]


@pytest.fixture
async def checker() -> object:
    found = SignatureChecker(min_batch=4)
    yield found
    found.close()


async def test_the_helper_answers_as_inline_verification_does(checker: SignatureChecker) -> None:
    triples = _batch()
    expected = _inline(triples)
    assert expected == [True] + [False] * 6 + [True] * 5
    assert await checker.verify(triples) == expected
    assert checker.sent == 1 and checker.running
    # many batches at once each get their own answers, in their own order
    batches = [_batch(8 + n % 5) for n in range(40)]
    answers = await asyncio.gather(*(checker.verify(b) for b in batches))
    assert answers == [_inline(b) for b in batches]
    assert checker.sent == 41


async def test_a_small_batch_is_verified_inline(checker: SignatureChecker) -> None:
    triples = _batch()[:3]
    assert await checker.verify(triples) == _inline(triples)
    assert checker.sent == 0
    assert not checker.running  # nothing was started for it


async def test_a_caller_that_goes_away_takes_no_answer_from_the_next(
    checker: SignatureChecker,
) -> None:
    first, second = _batch(), list(reversed(_batch()))
    gone = asyncio.create_task(checker.verify(first))
    await asyncio.sleep(0)  # sent
    kept = asyncio.create_task(checker.verify(second))
    gone.cancel()
    assert await kept == _inline(second)


async def test_a_dead_helper_means_inline_then_a_new_helper(
    checker: SignatureChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    triples = _batch()
    await checker.verify(triples)
    os.kill(checker._process.pid, signal.SIGKILL)
    checker._process.wait(5)
    await asyncio.sleep(0.1)  # its socket's end of file is read
    assert not checker.running
    assert await checker.verify(triples) == _inline(triples)  # inline: just died
    assert checker.sent == 1 and checker.restarts == 0
    monkeypatch.setattr(signature_checker, "RESTART_SECONDS", 0.0)
    assert await checker.verify(triples) == _inline(triples)
    assert checker.restarts == 1 and checker.sent == 2 and checker.running


async def test_a_hung_helper_is_stopped_and_its_batch_verified_inline(
    checker: SignatureChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    triples = _batch()
    await checker.verify(triples)
    process = checker._process
    os.kill(process.pid, signal.SIGSTOP)  # alive, never answers
    monkeypatch.setattr(signature_checker, "ANSWER_SECONDS", 0.3)
    assert await asyncio.wait_for(checker.verify(triples), 5) == _inline(triples)
    assert not checker.running
    assert process.poll() is not None  # killed, not left behind


async def test_a_closed_checker_verifies_inline_and_starts_nothing(
    checker: SignatureChecker,
) -> None:
    triples = _batch()
    await checker.verify(triples)
    process = checker._process
    checker.close()
    assert process.poll() == 0  # it read end of file and exited by itself
    assert await checker.verify(triples) == _inline(triples)
    assert checker.sent == 1 and not checker.running


async def test_a_long_message_is_verified_inline(checker: SignatureChecker) -> None:
    """The helper runs libsodium's path only: a batch with a longer message stays here."""
    long = os.urandom(signature_checker.HELPER_MESSAGE_MAX + 1)
    triples = [*_batch(), (SIGNER.public, SIGNER.sign(long), long)]
    assert await checker.verify(triples) == [*_inline(triples[:-1]), True]
    assert checker.sent == 0


def test_the_helper_reads_records_exactly() -> None:
    """Its parser: one answer per record; a cut record is an error, never a guess."""
    triples = [t for t in _batch() if len(t[1]) == 64]
    data = b"".join(_signature_helper.RECORD.pack(k.raw, s, len(m)) + m for k, s, m in triples)
    assert list(_signature_helper.answers(data)) == [int(ok) for ok in _inline(triples)]
    assert _signature_helper.answers(b"") == b""
    with pytest.raises(struct.error):
        _signature_helper.answers(data[: _signature_helper.RECORD.size - 1])
    with pytest.raises(ValueError, match="cut short"):
        _signature_helper.answers(data[:-1])


async def test_a_helper_that_cannot_start_means_inline(
    checker: SignatureChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(signature_checker.subprocess, "Popen", refuse)
    triples = _batch()
    checker.start()  # serve's startup call: logged, not raised
    assert not checker.running
    assert await checker.verify(triples) == _inline(triples)
    assert checker.sent == 0


async def test_a_batch_with_no_well_formed_signature_sends_nothing(
    checker: SignatureChecker,
) -> None:
    triples = [(SIGNER.public, b"\x01" * n, b"message") for n in (0, 1, 63, 65, 128) * 2]
    assert await checker.verify(triples) == [False] * 10
    assert checker.sent == 0 and not checker.running
