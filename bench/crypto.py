"""Throughput of ``seal`` / ``open_envelope`` against the raw primitives they wrap.

Run from the repository root::

    .venv/bin/python bench/crypto.py              # ~40 s, 1 s per measurement
    .venv/bin/python bench/crypto.py --quick      # ~12 s, rough numbers
    .venv/bin/python bench/crypto.py --breakdown  # + ~12 s: time the non-crypto steps

It prints a Markdown table. For each suite (X25519, ML-KEM-768+X25519) and payload
size (2 KiB, 200 KiB of canonical payload JSON) it measures:

* ``seal`` and ``open_envelope`` on in-memory :class:`Envelope` objects;
* the wire paths: ``seal(...).to_bytes()`` and ``open_envelope(parse_envelope(wire))``,
  so the cost of our JSON and base64 handling of the envelope is visible;
* the raw primitives on exactly the bytes ``seal`` feeds them, called the way
  ``hub.crypto`` calls them but with no hub wrapper: HPKE ``encrypt`` / ``decrypt``
  (``cryptography``'s ``hpke.Suite``) of the real inner plaintext with the real
  canonical header as ``info``, and Ed25519 sign / verify of the real signed bytes with
  the library ``hub.crypto.keys`` picks for their length: libsodium
  (``nacl.bindings.crypto_sign`` / ``crypto_sign_open``) for short messages, OpenSSL
  (``cryptography``'s Ed25519 key objects) for long ones, whose SHA-512 is faster;
* the *raw ceiling*, ``1 / (1/hpke + 1/ed25519)``: the best a sign-then-encrypt (or
  decrypt-then-verify) could do with these primitives and no other work, and the ratio
  ours / ceiling (1.00x would mean our code costs nothing on top).

Payloads: the 2 KiB one is a typed :class:`~hub.protocol.messages.Notice`, so ``seal``
includes its ``payload_of`` rendering. ``Notice.text`` is capped at 20 000 characters,
so the 200 KiB one is a raw mapping ``{"text": ...}`` sealed with
``message_type="notice"`` (``seal`` accepts rendered payloads; ``open_envelope`` does not
validate the payload against its type, so both sizes open the same way). The text is
ASCII prose with newlines and quotes, so JSON escaping is exercised (each escape costs a
Python call in the pure-Python RFC 8785 serialiser). Payloads with many small fields
(agendas, extracts) pay per-field costs in it instead.

Each figure is the median of per-batch rates (batches of ~20 ms) over ``--seconds``,
after a warm-up. Ours and the raw primitives it is compared with are timed interleaved,
batch by batch, so load from other processes skews both alike; on a busy machine trust
the ratios more than the absolute rates.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import cryptography
import nacl
from _machine import machine_line
from cryptography.hazmat.backends.openssl import backend as openssl_backend
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

from hub.crypto import keys
from hub.crypto.keys import EncryptionKeyPair, IdentityKeyPair
from hub.crypto.sealing import hpke_suite, open_envelope, seal
from hub.protocol import (
    SUITE_HYBRID,
    SUITE_X25519,
    Envelope,
    Header,
    b64decode,
    b64encode,
    canonical_json,
    parse_envelope,
)
from hub.protocol.envelope import loads_strict
from hub.protocol.messages import Notice, payload_of

SUITES = ((SUITE_X25519, "X25519"), (SUITE_HYBRID, "ML-KEM-768+X25519"))
SIZES = ((2 * 1024, "2 KiB"), (200 * 1024, "200 KiB"))
NOTICE_MAX_CHARS = 20_000
BATCH_SECONDS = 0.02
NOW = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)

PROSE = (
    "Police attended the address at 23:10 after a neighbour reported shouting. "
    'The victim said "he has done this before" and declined to make a statement. '
    "Officers completed a DASH assessment; 15 questions were answered yes.\n"
    "The children were asleep upstairs and were not spoken to. A referral was made "
    "to children's social care the following morning.\n\n"
)


def prose_payload_text(target: int) -> str:
    """ASCII text whose ``{"text": ...}`` canonical JSON is ``target`` bytes (or 1 less)."""
    text = (PROSE * (target // len(PROSE) + 2))[:target]
    while (size := len(canonical_json({"text": text}))) > target:
        text = text[: len(text) - (size - target)]
    return text


def _batch_size(fn: Callable[[], object], warm_for: float) -> int:
    """Warm ``fn`` up for ``warm_for`` s; return the calls that make one ~20 ms batch."""
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < warm_for:
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    return max(1, round(BATCH_SECONDS / per_call))


def measure(fns: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Median ops/s of each of ``fns``, each timed for at least ``seconds``.

    The functions are interleaved batch by batch, so a load spike from another process
    hits ours and the raw primitives alike instead of skewing their ratio.
    """
    warm_for = min(0.25, max(0.05, seconds * 0.2))
    batches = {name: _batch_size(fn, warm_for) for name, fn in fns.items()}
    rates: dict[str, list[float]] = {name: [] for name in fns}
    spent = dict.fromkeys(fns, 0.0)
    while min(spent.values()) < seconds or min(len(r) for r in rates.values()) < 5:
        for name, fn in fns.items():
            batch = batches[name]
            t0 = time.perf_counter()
            for _ in range(batch):
                fn()
            elapsed = time.perf_counter() - t0
            spent[name] += elapsed
            rates[name].append(batch / elapsed)
    return {name: statistics.median(r) for name, r in rates.items()}


def ceiling(a: float, b: float) -> float:
    """Rate of doing one ``a`` op then one ``b`` op, and nothing else."""
    return 1.0 / (1.0 / a + 1.0 / b)


def raw_ed25519(
    seed: bytes, size: int
) -> tuple[Callable[[bytes], bytes], Callable[[bytes, bytes], object]]:
    """Raw sign and verify of a ``size``-byte message, in the library ``hub.crypto.keys``
    picks for that length (made from the seed alone: no hub key objects)."""
    public, secret = crypto_sign_seed_keypair(seed)  # libsodium's secret: seed || public
    openssl = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    openssl_public = openssl.public_key()
    if size <= keys._SODIUM_SIGN_MAX:

        def sign(message: bytes) -> bytes:
            return crypto_sign(message, secret)[:64]
    else:

        def sign(message: bytes) -> bytes:
            return openssl.sign(message)

    if size <= keys._SODIUM_VERIFY_MAX:

        def verify(signature: bytes, message: bytes) -> object:
            return crypto_sign_open(signature + message, public)
    else:

        def verify(signature: bytes, message: bytes) -> object:
            openssl_public.verify(signature, message)
            return None

    return sign, verify


def seal_payload(
    payload: Notice | dict[str, str], sender: IdentityKeyPair, recipient: EncryptionKeyPair
) -> Envelope:
    """``seal`` as a caller would: typed messages as such, rendered payloads with a type."""
    return seal(
        payload,
        message_type=None if isinstance(payload, Notice) else "notice",
        sender=sender,
        sender_id="police",
        recipient_id="idva",
        recipient_key=recipient.public,
        now=NOW,
        case_ref="C-2025-0042",
    )


@dataclass(frozen=True)
class Case:
    """One suite x payload size, with the exact bytes seal/open hand the primitives."""

    suite: str
    suite_label: str
    size_label: str
    payload: Notice | dict[str, str]
    sender: IdentityKeyPair
    recipient: EncryptionKeyPair
    envelope: Envelope
    wire: bytes
    header_c: bytes
    payload_c: bytes
    signed: bytes
    signature: bytes
    plaintext: bytes

    @classmethod
    def build(cls, suite: str, suite_label: str, size: int, size_label: str) -> Case:
        text = prose_payload_text(size)
        payload: Notice | dict[str, str]
        payload = Notice(text=text) if len(text) <= NOTICE_MAX_CHARS else {"text": text}
        sender = IdentityKeyPair.generate()
        recipient = EncryptionKeyPair.generate(suite)
        envelope = seal_payload(payload, sender, recipient)
        header_c = envelope.header.canonical()
        payload_c = canonical_json(payload_of(payload) if isinstance(payload, Notice) else payload)
        signed = b'{"header":' + header_c + b',"payload":' + payload_c + b"}"
        plaintext = hpke_suite(suite).decrypt(envelope.ciphertext, recipient.private, info=header_c)
        signature = b64decode(loads_strict(plaintext)["signature"])
        # Fail loudly if seal's layout drifts from what the raw rows are timed on.
        assert plaintext.startswith(signed[:-1]), "inner plaintext layout changed"
        raw_ed25519(sender.private_bytes(), len(signed))[1](signature, signed)
        return cls(
            suite=suite,
            suite_label=suite_label,
            size_label=size_label,
            payload=payload,
            sender=sender,
            recipient=recipient,
            envelope=envelope,
            wire=envelope.to_bytes(),
            header_c=header_c,
            payload_c=payload_c,
            signed=signed,
            signature=signature,
            plaintext=plaintext,
        )

    def seal(self) -> Envelope:
        return seal_payload(self.payload, self.sender, self.recipient)


@dataclass
class Row:
    suite: str
    size: str
    path: str
    ours: float
    hpke: float
    ed25519: float

    @property
    def ceiling(self) -> float:
        return ceiling(self.hpke, self.ed25519)


def run_case(case: Case, seconds: float) -> list[Row]:
    hs = hpke_suite(case.suite)
    pub, priv = case.recipient.public.key, case.recipient.private
    plaintext, header_c = case.plaintext, case.header_c
    signed, signature = case.signed, case.signature
    sign_raw, verify_raw = raw_ed25519(case.sender.private_bytes(), len(signed))
    ciphertext, envelope, wire = case.envelope.ciphertext, case.envelope, case.wire
    recipient, sender_pub = case.recipient, case.sender.public

    seal_rates = measure(
        {
            "hpke": lambda: hs.encrypt(plaintext, pub, info=header_c),
            "ed25519": lambda: sign_raw(signed),
            "seal": case.seal,
            "seal + to_bytes": lambda: case.seal().to_bytes(),
        },
        seconds,
    )
    open_rates = measure(
        {
            "hpke": lambda: hs.decrypt(ciphertext, priv, info=header_c),
            "ed25519": lambda: verify_raw(signature, signed),
            "open": lambda: open_envelope(envelope, recipient=recipient, sender=sender_pub),
            "parse_envelope + open": lambda: open_envelope(
                parse_envelope(wire), recipient=recipient, sender=sender_pub
            ),
        },
        seconds,
    )
    s, z = case.suite_label, case.size_label
    return [
        Row(s, z, path, rates[path], rates["hpke"], rates["ed25519"])
        for rates, paths in (
            (seal_rates, ("seal", "seal + to_bytes")),
            (open_rates, ("open", "parse_envelope + open")),
        )
        for path in paths
    ]


def breakdown(case: Case, seconds: float) -> list[tuple[str, str, str, float]]:
    """µs/op of the non-crypto steps seal/open/to_bytes/parse_envelope perform."""
    header, plaintext, wire = case.envelope.header, case.plaintext, case.wire
    fields = {
        "id": header.id,
        "type": header.type,
        "sender": header.sender,
        "recipient": header.recipient,
        "sent_at": header.sent_at,
        "case_ref": header.case_ref,
        "sender_key": header.sender_key,
        "recipient_key": header.recipient_key,
        "suite": header.suite,
    }
    body = payload_of(case.payload) if isinstance(case.payload, Notice) else case.payload
    start = len(b'{"header":') + len(case.header_c) + len(b',"payload":')
    payload_json = plaintext[start : len(plaintext) - 102]  # 102: the signature member
    b64_ct = b64encode(case.envelope.ciphertext)
    header_json = wire[wire.index(b'","header":') + 11 : -1]
    steps: list[tuple[str, Callable[[], object]]] = [
        ("seal: Header.build (checks, canonical bytes)", lambda: Header.build(**fields)),
        ("seal: canonical_json(payload)", lambda: canonical_json(body)),
        ("open: loads_strict(payload JSON)", lambda: loads_strict(payload_json)),
        ("to_bytes: b64encode(ciphertext)", lambda: b64encode(case.envelope.ciphertext)),
        ("parse: loads_strict(header JSON)", lambda: loads_strict(header_json)),
        (
            "parse: loads_strict + Header.from_json",
            lambda: Header.from_json(loads_strict(header_json)),
        ),
        ("parse: b64decode(ciphertext)", lambda: b64decode(b64_ct)),
        ("parse: loads_strict(wire), for comparison", lambda: loads_strict(wire)),
    ]
    rates = measure(dict(steps), seconds)
    return [(case.suite_label, case.size_label, name, 1e6 / rate) for name, rate in rates.items()]


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def fmt_us(x: float) -> str:
    return f"{x:,.1f}"


def print_table(headers: list[str], rows: list[list[str]], right_from: int) -> None:
    align = ["---" if i < right_from else "---:" for i in range(len(headers))]
    print("| " + " | ".join(headers) + " |")
    print("| " + " | ".join(align) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="minimum time per measurement (default 1.0, or 0.2 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="short measurements, rough numbers")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time the non-crypto steps (µs/op)"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (0.2 if args.quick else 1.0)

    print("# seal / open throughput vs raw primitives\n")
    print(machine_line())
    print(
        f"- python {platform.python_version()} ({platform.python_implementation()}), "
        f"cryptography {cryptography.__version__} ({openssl_backend.openssl_version_text()}) "
        f"for HPKE, PyNaCl {nacl.__version__} (libsodium) for Ed25519"
    )
    print(
        f"- {seconds:g} s per measurement, median of ~{BATCH_SECONDS * 1000:.0f} ms batches; "
        "ceiling = 1 / (1/HPKE + 1/Ed25519); overhead = ours µs - ceiling µs"
    )
    print()

    started = time.perf_counter()
    cases = [
        Case.build(suite, suite_label, size, size_label)
        for suite, suite_label in SUITES
        for size, size_label in SIZES
    ]

    print_table(
        ["suite", "payload", "payload JSON B", "signed B", "HPKE pt B", "info B", "wire B"],
        [
            [
                c.suite_label,
                c.size_label,
                f"{len(c.payload_c):,}",
                f"{len(c.signed):,}",
                f"{len(c.plaintext):,}",
                f"{len(c.header_c):,}",
                f"{len(c.wire):,}",
            ]
            for c in cases
        ],
        right_from=2,
    )
    print()
    sys.stdout.flush()

    rows = [row for case in cases for row in run_case(case, seconds)]
    print_table(
        [
            "suite",
            "payload",
            "path",
            "ours ops/s",
            "ours µs/op",
            "HPKE ops/s",
            "Ed25519 ops/s",
            "ceiling ops/s",
            "ceiling µs/op",
            "overhead µs",
            "ours / ceiling",
        ],
        [
            [
                r.suite,
                r.size,
                r.path,
                fmt_rate(r.ours),
                fmt_us(1e6 / r.ours),
                fmt_rate(r.hpke),
                fmt_rate(r.ed25519),
                fmt_rate(r.ceiling),
                fmt_us(1e6 / r.ceiling),
                fmt_us(1e6 / r.ours - 1e6 / r.ceiling),
                f"{r.ours / r.ceiling:.2f}x",
            ]
            for r in rows
        ],
        right_from=3,
    )
    print(
        "\nHPKE column: encrypt on seal rows, decrypt on open rows (cryptography's "
        "hpke.Suite). Ed25519 column: sign on seal rows, verify on open rows, with the "
        "library hub.crypto.keys uses for the message's length: libsodium "
        f"(nacl.bindings crypto_sign / crypto_sign_open) up to {keys._SODIUM_SIGN_MAX:,} B "
        f"to sign and {keys._SODIUM_VERIFY_MAX:,} B to verify, OpenSSL (cryptography) above. "
        "The ceiling is what the same primitive calls cost with nothing around them."
    )

    if args.breakdown:
        print("\n## non-crypto steps (µs/op)\n")
        x25519_cases = [case for case in cases if case.suite == SUITE_X25519]
        step_seconds = max(0.1, seconds / 3)
        steps = [step for case in x25519_cases for step in breakdown(case, step_seconds)]
        print_table(
            ["suite", "payload", "step", "µs/op"],
            [[s, z, name, fmt_us(us)] for s, z, name, us in steps],
            right_from=3,
        )

    print(f"\n_total run time {time.perf_counter() - started:.1f} s_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
