"""The error hierarchy and RFC 9457 problem details."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.protocol import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPES,
    CryptoError,
    DeliveryError,
    HubError,
    InvalidEnvelope,
    LogIntegrityError,
    PolicyError,
    ProtocolError,
    problem,
)
from hub.protocol.errors import _TYPES, PROBLEM_BASE, ProblemType

SUBCLASSES: list[tuple[type[HubError], str, int]] = [
    (HubError, "hub-error", 500),
    (ProtocolError, "malformed", 400),
    (CryptoError, "crypto-error", 400),
    (PolicyError, "policy-refused", 403),
    (DeliveryError, "delivery-failed", 502),
    (LogIntegrityError, "log-integrity", 500),
]


def make(cls: type[HubError], message: str = "something went wrong") -> HubError:
    return InvalidEnvelope() if cls is InvalidEnvelope else cls(message)


# --- problem() ----------------------------------------------------------------------


def test_problem_has_rfc9457_members() -> None:
    error = ProtocolError("header.id is not a canonical ULID", code="bad-ulid")
    doc = problem(error, instance="/v1/envelopes/01HZX3K8N5VQ2W7R9T4M6P1C0D")
    assert doc == {
        "type": "https://marac-hub.org/problems/bad-ulid",
        "title": "Identifier is not a ULID",
        "status": 400,
        "detail": "header.id is not a canonical ULID",
        "instance": "/v1/envelopes/01HZX3K8N5VQ2W7R9T4M6P1C0D",
    }
    json.dumps(doc)  # a JSON document


def test_problem_without_instance_omits_it() -> None:
    doc = problem(PolicyError("no basis", code="no-lawful-basis"))
    assert set(doc) == {"type", "title", "status", "detail"}
    assert doc["status"] == 403
    assert doc["type"].endswith("/no-lawful-basis")


def test_problem_status_comes_from_the_code_not_the_class() -> None:
    # A ProtocolError is a 400 by default, but payload-too-large is a 413.
    doc = problem(ProtocolError("envelope is too large", code="payload-too-large"))
    assert doc["status"] == 413
    assert doc["title"] == "Payload too large"
    doc = problem(ProtocolError("bad signature", code="bad-signature"))
    assert doc["status"] == 401


def test_problem_for_an_unregistered_code_falls_back_to_the_class() -> None:
    doc = problem(DeliveryError("adapter said no", code="adapter-x-failed"))
    assert doc["type"] == PROBLEM_BASE + "adapter-x-failed"
    assert doc["status"] == 502
    assert doc["title"] == "adapter-x-failed"
    assert doc["detail"] == "adapter said no"


@pytest.mark.parametrize("problem_type", _TYPES, ids=lambda t: t.code)
def test_problem_for_every_registered_code(problem_type: ProblemType) -> None:
    doc = problem(HubError("detail text", code=problem_type.code))
    assert doc["type"] == problem_type.uri
    assert doc["title"] == problem_type.title
    assert doc["status"] == problem_type.status


def test_content_type() -> None:
    assert PROBLEM_CONTENT_TYPE == "application/problem+json"


def test_invalid_envelope_problem_is_opaque() -> None:
    doc = problem(InvalidEnvelope())
    assert doc["type"].endswith("/invalid-envelope")
    assert doc["detail"] == "the envelope could not be opened"
    assert doc["status"] == 400


# --- the registry -------------------------------------------------------------------


def test_codes_are_unique() -> None:
    codes = [t.code for t in _TYPES]
    assert len(codes) == len(set(codes)) == len(PROBLEM_TYPES)
    assert all(PROBLEM_TYPES[t.code] is t for t in _TYPES)


def test_titles_are_unique() -> None:
    titles = [t.title for t in _TYPES]
    assert len(titles) == len(set(titles))


@pytest.mark.parametrize("problem_type", _TYPES, ids=lambda t: t.code)
def test_problem_type_is_well_formed(problem_type: ProblemType) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", problem_type.code)
    assert 400 <= problem_type.status <= 599
    assert problem_type.title
    assert problem_type.title == problem_type.title.strip()
    assert "\n" not in problem_type.title
    url = urlsplit(problem_type.uri)
    assert url.scheme == "https"
    assert url.netloc
    assert problem_type.uri == PROBLEM_BASE + problem_type.code


def test_problem_type_is_immutable() -> None:
    problem_type = PROBLEM_TYPES["bad-ulid"]
    with pytest.raises(AttributeError):
        problem_type.status = 500  # type: ignore[misc]


@pytest.mark.parametrize(
    "code",
    [
        # Named in DESIGN.md as errors the client can act on.
        "bad-signature",
        "unknown-agency",
        "key-revoked",
        "replayed-request",
        "payload-too-large",
        "no-lawful-basis",
        "isp-not-signed",
        # Raised by hub.protocol itself.
        "malformed",
        "malformed-json",
        "unsupported-version",
        "unknown-type",
        "unknown-suite",
        "bad-ulid",
        "bad-timestamp",
        "naive-timestamp",
        "bad-base64",
        "bad-fingerprint",
        "missing-field",
        "unknown-field",
        "wrong-type",
        "field-too-large",
        "invalid-message",
    ],
)
def test_code_is_registered(code: str) -> None:
    assert code in PROBLEM_TYPES


def test_payload_too_large_is_413() -> None:
    assert PROBLEM_TYPES["payload-too-large"].status == 413
    assert PROBLEM_TYPES["unsupported-media-type"].status == 415


# --- the hierarchy ------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "code", "status"), SUBCLASSES)
def test_subclass_default_codes(cls: type[HubError], code: str, status: int) -> None:
    error = cls("message")
    assert error.code == cls.default_code == code
    assert error.status == cls.status == status
    assert PROBLEM_TYPES[code].status == status
    assert problem(error)["status"] == status
    assert isinstance(error, HubError)
    assert isinstance(error, Exception)


def test_invalid_envelope() -> None:
    error = InvalidEnvelope()
    assert isinstance(error, CryptoError)
    assert error.code == "invalid-envelope"
    assert error.message == "the envelope could not be opened"
    assert str(error) == error.message
    assert PROBLEM_TYPES["invalid-envelope"].status == error.status


def test_code_can_be_overridden() -> None:
    error = ProtocolError("bad", code="bad-ulid")
    assert error.code == "bad-ulid"
    assert ProtocolError.default_code == "malformed"
    assert ProtocolError("bad").code == "malformed"


def test_message_and_str() -> None:
    error = PolicyError("recipient has not signed ISP v4", code="isp-not-signed")
    assert str(error) == error.message == "recipient has not signed ISP v4"
    assert error.args == ("recipient has not signed ISP v4",)


def test_subclasses_are_caught_by_the_root() -> None:
    for cls, _, _ in [*SUBCLASSES, (InvalidEnvelope, "", 0)]:
        with pytest.raises(HubError):
            raise make(cls)


def test_protocol_errors_are_not_value_errors() -> None:
    # Callers catch HubError once; a ProtocolError must not slip into a
    # broad ``except ValueError`` meant for something else.
    assert not issubclass(ProtocolError, ValueError)


# --- diagnostics() ------------------------------------------------------------------


def test_diagnostics_format() -> None:
    error = ProtocolError("header.id is not a canonical ULID", code="bad-ulid")
    assert error.diagnostics() == "bad-ulid: header.id is not a canonical ULID"


@pytest.mark.parametrize(
    "message",
    ["first line\nsecond line", "a\r\nb", "trailing\n", "\n", "x\u2028y", "a\x0bb", ""],
)
def test_diagnostics_is_one_line(message: str) -> None:
    text = HubError(message, code="crypto-error").diagnostics()
    assert len(text.splitlines()) == 1
    assert text.startswith("crypto-error:")
    assert "\n" not in text
    assert "\r" not in text


def test_diagnostics_keeps_the_words() -> None:
    text = DeliveryError("webhook failed:\nHTTP 503").diagnostics()
    assert text == "delivery-failed: webhook failed: HTTP 503"


@given(st.text(max_size=200))
def test_diagnostics_is_always_one_line(message: str) -> None:
    for cls, _, _ in SUBCLASSES:
        text = make(cls, message).diagnostics()
        assert len(text.splitlines()) == 1
        assert text.startswith(cls.default_code + ":")
