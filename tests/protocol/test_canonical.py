"""RFC 8785 canonical JSON and strict unpadded base64url."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.protocol import ProtocolError, b64decode, b64encode, canonical_json, sha256_hex
from hub.protocol.canonical import b64encode_ascii

# --- RFC 8785 examples ---------------------------------------------------------------

# RFC 8785 section 3.2.2 (the whitespace of the input is irrelevant).
RFC_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_OUTPUT = (
    r'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    r'"string":"€$\u000f\nA'
    "'"
    r'B\"\\\\\"/"}'
)


def test_rfc8785_section_3_2_2_example() -> None:
    assert canonical_json(json.loads(RFC_INPUT)) == RFC_OUTPUT.encode("utf-8")


def test_rfc8785_section_3_2_3_sorting_example() -> None:
    data = json.loads(
        r"""{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"""
    )
    out = json.loads(canonical_json(data), object_pairs_hook=lambda pairs: [v for _, v in pairs])
    assert out == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB33 although its code
    # point is larger; sorting by code point would put it last.
    data = {"\ufb33": 1, "\U0001f600": 2}
    assert canonical_json(data) == '{"\U0001f600":2,"\ufb33":1}'.encode()
    assert list(json.loads(canonical_json(data))) != sorted(data)


@pytest.mark.parametrize(
    ("ieee_hex", "expected"),
    [
        # RFC 8785 appendix B.
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),  # minus zero
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ],
)
def test_rfc8785_number_serialisation(ieee_hex: str, expected: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(ieee_hex))
    assert canonical_json(number) == expected.encode()
    assert canonical_json([number]) == f"[{expected}]".encode()


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1e30, "1e+30"),
        (-0.0, "0"),
        (0.000001, "0.000001"),
        (0.0000001, "1e-7"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (4.5, "4.5"),
        (2.0, "2"),
        (-1.5, "-1.5"),
        (0, "0"),
        (-17, "-17"),
        (2**53 - 1, "9007199254740991"),
        (-(2**53 - 1), "-9007199254740991"),
    ],
)
def test_number_formatting(number: float, expected: str) -> None:
    assert canonical_json(number) == expected.encode()


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        2**53,
        -(2**53),
        2**64,
        [1, float("nan")],
        {"a": {"b": float("inf")}},
        {1: "x"},
        {("a",): "x"},
        b"bytes",
        {"a": object()},
        {"a", "b"},
        "\ud800",  # lone surrogate: not UTF-8 encodable
        {"\udfff": 1},
    ],
)
def test_values_outside_i_json_are_refused(value: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        canonical_json(value)
    assert info.value.code == "malformed"
    assert "\n" not in info.value.diagnostics()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", '""'),
        ('"', r'"\""'),
        ("\\", r'"\\"'),
        ("/", '"/"'),  # solidus is not escaped
        ("\b\f\n\r\t", r'"\b\f\n\r\t"'),
        ("\x00", r'"\u0000"'),
        ("\x1f", r'"\u001f"'),
        ("\x0b", r'"\u000b"'),
        ("\x7f", '"\x7f"'),  # DEL is not a control character in JSON
        ("é€😀", '"é€😀"'),  # non-ASCII is written as UTF-8, not escaped
        ("\u2028\u2029", '"\u2028\u2029"'),
        ("<script>&", '"<script>&"'),
    ],
)
def test_string_escaping(text: str, expected: str) -> None:
    assert canonical_json(text) == expected.encode("utf-8")


def test_literals_and_structure() -> None:
    value = {"b": [True, False, None], "a": {}, "c": [], "d": {"z": 1, "y": [{}]}}
    assert canonical_json(value) == b'{"a":{},"b":[true,false,null],"c":[],"d":{"y":[{}],"z":1}}'


def test_tuples_serialise_as_arrays() -> None:
    assert canonical_json({"a": (1, "x")}) == b'{"a":[1,"x"]}'


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert sha256_hex(b"") == hashlib.sha256(b"").hexdigest()


# --- properties ---------------------------------------------------------------------

safe_ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
bmp_text = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=20)
plain_json = st.recursive(
    st.none() | st.booleans() | safe_ints | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(bmp_text, children, max_size=5)
    ),
    max_leaves=30,
)
# Doubles in [2**53, 1e21) that are whole numbers are written as integer literals,
# which Python reads back as ints beyond the safe range that rfc8785 refuses.
json_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: not (2**53 <= abs(f) < 1e21)
)
any_json = st.recursive(
    st.none() | st.booleans() | safe_ints | json_floats | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@given(plain_json)
def test_matches_sorted_compact_json_without_floats(value: Any) -> None:
    # Without floats and with BMP keys (code-point order == UTF-16 order), RFC 8785
    # is exactly Python's compact, sorted, non-ASCII-preserving JSON.
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected.encode("utf-8")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _check_sorted(node: Any) -> None:
    if isinstance(node, list) and node and isinstance(node[0], tuple):  # an object's pairs
        keys = [k for k, _ in node]
        assert keys == sorted(keys, key=_utf16_key)
        assert len(set(keys)) == len(keys)
        for _, v in node:
            _check_sorted(v)
    elif isinstance(node, list):
        for v in node:
            _check_sorted(v)


@given(any_json)
def test_canonical_properties(value: Any) -> None:
    out = canonical_json(value)
    decoded = json.loads(out.decode("utf-8"))
    assert decoded == value  # lossless
    # Idempotent under a JSON round trip, whatever the formatting in between.
    assert canonical_json(decoded) == out
    assert canonical_json(json.loads(json.dumps(value, indent=2))) == out
    _check_sorted(json.loads(out, object_pairs_hook=list))
    # No insignificant whitespace, and no raw control characters anywhere.
    assert not set(_outside_strings(out.decode("utf-8"))) & set(" \t\r\n")
    assert not any(byte < 0x20 for byte in out)


def _outside_strings(text: str) -> str:
    """The characters of JSON ``text`` that are not inside string literals."""
    outside: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        else:
            outside.append(char)
    return "".join(outside)


def test_outside_strings_helper() -> None:
    assert _outside_strings('{"a b":[1, "\\" x"]}') == "{:[1, ]}"


@given(st.dictionaries(st.text(max_size=8), safe_ints, max_size=8))
def test_key_order_of_input_does_not_matter(value: dict[str, int]) -> None:
    reversed_value = dict(reversed(list(value.items())))
    assert canonical_json(reversed_value) == canonical_json(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip_exactly(number: float) -> None:
    out = canonical_json(number)
    assert float(out) == number
    assert b" " not in out
    assert not out.endswith(b".0")
    assert b"E" not in out


# --- base64url ----------------------------------------------------------------------


@given(st.binary(max_size=256))
def test_b64_round_trip(data: bytes) -> None:
    text = b64encode(data)
    assert b64decode(text) == data
    assert "=" not in text
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(text) == -(-len(data) * 4 // 3)
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64encode_ascii(data) == text.encode("ascii")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ \n"))
def test_b64decode_agrees_with_the_standard_library(text: str) -> None:
    """Whatever ``base64`` (strict, URL alphabet, zero unused bits) decodes, we decode."""
    try:
        expected: bytes | None = base64.b64decode(
            text + "=" * (-len(text) % 4), altchars=b"-_", validate=True
        )
    except ValueError:
        expected = None
    canonical = expected is not None and "=" not in text and "+" not in text and "/" not in text
    if (
        canonical
        and expected is not None
        and base64.urlsafe_b64encode(expected).decode().rstrip("=") != text
    ):
        canonical = False  # non-zero unused bits
    try:
        got: bytes | None = b64decode(text)
    except ProtocolError:
        got = None
    assert got == (expected if canonical else None)


@given(st.text(max_size=40))
def test_b64decode_is_canonical_or_refuses(text: str) -> None:
    try:
        raw = b64decode(text)
    except ProtocolError as exc:
        assert exc.code == "bad-base64"
    else:
        assert b64encode(raw) == text


def test_b64_known_vectors() -> None:
    assert b64encode(b"") == ""
    assert b64encode(b"f") == "Zg"
    assert b64encode(b"fo") == "Zm8"
    assert b64encode(b"foo") == "Zm9v"
    assert b64encode(b"\xfb\xff") == "-_8"
    assert b64decode("-_8") == b"\xfb\xff"
    assert b64decode("") == b""


@pytest.mark.parametrize(
    "text",
    [
        "Zg==",  # padding
        "Zg=",
        "Zm8=",
        "Zm9v=",
        "=",
        "Zm 9v",  # whitespace
        " Zm9v",
        "Zm9v\n",
        "Zm9v\r\n",
        "Zm\t9v",
        "+_8",  # standard alphabet
        "-/8",
        "++++",
        "////",
        "Zh",  # non-canonical trailing bits (decodes to b"f" like "Zg")
        "Zm9",  # non-canonical trailing bits (decodes to b"fo" like "Zm8")
        "Z",  # no byte ends after one character
        "Zm9vY",
        "Zm9v.",
        "Zm9v!",
        "Zm9\u00e9",
        "\uff3a\uff47",  # full-width letters
        "Zm9v\x00",
    ],
)
def test_b64decode_refuses(text: str) -> None:
    with pytest.raises(ProtocolError) as info:
        b64decode(text, field="identity_key")
    assert info.value.code == "bad-base64"
    assert "identity_key" in info.value.message


@pytest.mark.parametrize("value", [b"Zm9v", None, 123, ["Zm9v"]])
def test_b64decode_refuses_non_strings(value: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        b64decode(value)
    assert info.value.code == "bad-base64"


@given(st.binary(min_size=1, max_size=64), st.sampled_from(["=", "==", " ", "\n", "+", "/"]))
def test_b64decode_refuses_decorated_encodings(data: bytes, extra: str) -> None:
    text = b64encode(data)
    for decorated in (text + extra, extra + text, text[:1] + extra + text[1:]):
        with pytest.raises(ProtocolError):
            b64decode(decorated)


@given(st.binary(min_size=1, max_size=64))
def test_b64decode_refuses_standard_alphabet(data: bytes) -> None:
    standard = base64.b64encode(data).decode().rstrip("=")
    if "+" in standard or "/" in standard:
        with pytest.raises(ProtocolError):
            b64decode(standard)
    else:
        assert b64decode(standard) == data
