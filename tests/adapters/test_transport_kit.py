"""The bundled transports pass the conformance kit against real receivers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from adapterkit import SmtpHarness, WebhookHarness, http_receiver, make_tls, smtp_receiver

from hub.adapters.mailbox import MailboxTransport
from hub.adapters.testing import Harness, PullHarness, TransportConformance


class TestMailboxConformance(TransportConformance):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[Harness]:
        yield PullHarness(MailboxTransport(), {})


class TestWebhookConformance(TransportConformance):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[Harness]:
        tls = make_tls(tmp_path)
        async with http_receiver(tls) as receiver:
            yield WebhookHarness(receiver, tls)


class TestSmtpConformance(TransportConformance):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[Harness]:
        tls = make_tls(tmp_path)
        async with smtp_receiver(tls) as receiver:
            yield SmtpHarness(receiver, tls)


def test_a_harness_must_say_what_its_receiver_saw() -> None:
    """A push harness that leaves out received, wire or fail_next cannot be made."""

    class Incomplete(Harness):
        def received(self) -> list[bytes]:
            return []

    with pytest.raises(TypeError, match="abstract"):
        Incomplete(MailboxTransport(), {})  # type: ignore[abstract]
    with pytest.raises(TypeError, match="pull transport"):
        PullHarness(MailboxTransport(), {}).fail_next(1)
