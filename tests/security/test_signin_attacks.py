"""Sign-in attacks from issue 23: the lock-out raced by a burst of concurrent tries
(finding 1), and user names told apart by how long a wrong password takes (finding 2)."""

from __future__ import annotations

import asyncio
import re
import statistics
import time

from securitykit import PASSWORD, WRONG, add_staff, hub, sign_in

from hub.crypto.keyfile import STRENGTHS
from hub.service.appkeys import ENGINE
from hub.signin.passwords import LOCK_AFTER, decoy_hash
from hub.signin.tables import user_passwords
from hub.testing import RunningHub

__all__ = ["hub"]

SESSION = "marac_session"


async def test_a_burst_of_concurrent_wrong_passwords_cannot_slip_the_right_one_past_the_lock_out(
    hub: RunningHub,
) -> None:
    await add_staff(hub, "casey")
    wrong = [asyncio.create_task(sign_in(hub, "casey", f"{WRONG} {n}")) for n in range(39)]
    await asyncio.sleep(0.2)  # the right one goes last, while the wrong ones are in flight
    right = asyncio.create_task(sign_in(hub, "casey", PASSWORD))
    answers = await asyncio.gather(*wrong)
    status, cookies = await right
    assert [code for code, _ in answers] == [401] * 39
    assert status == 401 and SESSION not in cookies  # no session once the limit was reached
    # ... and the account stays locked for the right password afterwards too.
    status, cookies = await sign_in(hub, "casey", PASSWORD)
    assert status == 401 and SESSION not in cookies


async def test_fewer_wrong_tries_than_the_limit_then_the_right_one_signs_in(
    hub: RunningHub,
) -> None:
    await add_staff(hub, "casey")
    await asyncio.gather(*(sign_in(hub, "casey", WRONG) for _ in range(LOCK_AFTER - 1)))
    status, cookies = await sign_in(hub, "casey", PASSWORD)
    assert status == 303 and SESSION in cookies


def _argon2_parameters(hashed: str) -> str:
    found = re.match(r"\$argon2id\$v=\d+\$(m=\d+,t=\d+,p=\d+)\$", hashed)
    assert found, hashed
    return found.group(1)


async def test_user_names_cannot_be_enumerated_by_timing_a_wrong_password(
    hub: RunningHub,
) -> None:
    await add_staff(hub, "casey")
    # The work: an unknown name is checked against a hash of the same Argon2id parameters
    # as a real password at the configured strength.
    async with hub.app[ENGINE].connect() as conn:
        real = await conn.scalar(
            user_passwords.select().with_only_columns(user_passwords.c.password_hash)
        )
    strength = hub.settings.password_strength
    assert _argon2_parameters(decoy_hash(strength)) == _argon2_parameters(real)
    for other in STRENGTHS:
        ops, mem = STRENGTHS[other]
        assert f"m={mem // 1024},t={ops}," in decoy_hash(other)
    # The time, through the sign-in form: medians of many tries, interleaved, compared with
    # a generous bound (before the fix an unknown name took about 1/60 of a real one's time).
    known: list[float] = []
    unknown: list[float] = []
    for n in range(15):
        for name, times in (("casey", known), (f"nobody-{n}", unknown)):
            start = time.perf_counter()
            status, _ = await sign_in(hub, name, WRONG)
            times.append(time.perf_counter() - start)
            assert status == 401
    assert statistics.median(unknown) > 0.4 * statistics.median(known)
