"""The bundled transports pass the conformance kit against real receivers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from adapterkit import SmtpHarness, WebhookHarness, http_receiver, make_tls, smtp_receiver

from hub.adapters.mailbox import MailboxTransport
from hub.adapters.testing import Harness, TransportConformance


class TestMailboxConformance(TransportConformance):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[Harness]:
        yield Harness(MailboxTransport(), {})


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
