"""The conformance kit: pytest tests any adapter runs against itself.

Transports: subclass :class:`TransportConformance` in a test module and give it a
``harness`` fixture that yields a :class:`Harness` (your transport, settings pointing at a
real receiver on loopback, and what that receiver saw)::

    from hub.adapters.testing import Harness, TransportConformance

    class TestMyTransport(TransportConformance):
        @pytest.fixture
        async def harness(self, tmp_path):
            async with my_receiver(tmp_path) as receiver:
                yield MyHarness(receiver)

The kit needs ``pytest`` and ``pytest-asyncio``. See ``docs/adapters.md``.
"""

from hub.adapters.testing.transports import (
    Harness,
    PullHarness,
    TransportConformance,
    fake_envelope,
)

__all__ = ["Harness", "PullHarness", "TransportConformance", "fake_envelope"]
