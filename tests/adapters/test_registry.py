"""The registry finds adapters by entry point; a broken one is reported, never fatal."""

from __future__ import annotations

import logging
import sys
import types
from importlib.metadata import EntryPoint

import pytest

from hub.adapters import registry
from hub.adapters.registry import GROUP, load_registry
from hub.adapters.smtp import SmtpTransport
from hub.adapters.webhook import WebhookTransport
from hub.protocol.errors import ProtocolError


def point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, GROUP)


def test_installed_transports_are_found() -> None:
    found = registry.default_registry(reload=True)
    assert {"mailbox", "webhook", "smtp"} <= set(found.transports)
    assert isinstance(registry.transport("webhook"), WebhookTransport)
    assert isinstance(registry.transports()["smtp"], SmtpTransport)
    for adapter in found.transports.values():
        assert adapter.kind == "transport"
    for name, adapter in found.formats.items():
        assert adapter.kind == "format" and adapter.name == name


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ProtocolError) as caught:
        registry.transport("carrier-pigeon")
    assert caught.value.code == "unknown-adapter"
    assert "carrier-pigeon" in caught.value.message and "webhook" in caught.value.message
    with pytest.raises(ProtocolError):
        registry.format("\x00" * 500)


def test_broken_entry_points_are_reported_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    points = [
        point("webhook", "hub.adapters.webhook:WebhookTransport"),
        point("missing", "no_such_marac_package.adapter:Thing"),
        point("misnamed", "hub.adapters.smtp:SmtpTransport"),
        point("not-an-adapter", "hub.adapters.transport:PayloadTooLarge"),
        point("no-class", "hub.adapters.webhook:NoSuchClass"),
    ]
    with caplog.at_level(logging.WARNING, logger="hub.adapters.registry"):
        found = load_registry(points)
    assert set(found.transports) == {"webhook"}
    broken = {b.name: b.reason for b in found.broken}
    assert set(broken) == {"missing", "misnamed", "not-an-adapter", "no-class"}
    assert "ModuleNotFoundError" in broken["missing"]
    assert "registered as 'misnamed'" in broken["misnamed"]
    assert all("\n" not in reason for reason in broken.values())
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 4


def test_a_name_registered_twice_keeps_the_first() -> None:
    found = load_registry([point("smtp", "hub.adapters.smtp:SmtpTransport")] * 2)
    assert isinstance(found.transport("smtp"), SmtpTransport)
    assert [b.reason for b in found.broken] == ["name registered twice"]


class _NotATransport:
    name = "half"
    kind = "transport"


def test_an_object_that_lacks_the_protocol_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("marac_half_adapter")
    module.Half = _NotATransport  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "marac_half_adapter", module)
    found = load_registry([point("half", "marac_half_adapter:Half")])
    assert found.transports == {}
    assert "does not implement" in found.broken[0].reason
