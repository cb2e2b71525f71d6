"""The signature checker's helper process (``hub.crypto.signature_checker``).

Run as a script, ``python -P <this file> <socket fd>``, so it imports libsodium's
bindings and nothing of the hub: it holds no secret and little memory. For each batch
it reads (``multiprocessing.connection`` framing) it answers one byte per record, 1 if
the Ed25519 signature verifies, else 0: libsodium's ``crypto_sign_open``, the call
:meth:`hub.crypto.keys.IdentityPublicKey.verify` makes for messages of up to 48 KiB
(the checker sends no longer one, and only 64-byte signatures).
"""

from __future__ import annotations

import struct
import sys
from multiprocessing.connection import Connection
from typing import Final

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

RECORD: Final = struct.Struct(">32s64sI")  # public key, signature, message length


def answers(data: bytes) -> bytes:
    """One byte per record of ``data``: 1 where its signature verifies (``struct.error``
    or ``ValueError`` for a record cut short: the helper then stops)."""
    out = bytearray()
    offset = 0
    while offset < len(data):
        key, signature, length = RECORD.unpack_from(data, offset)
        offset += RECORD.size
        if offset + length > len(data):
            raise ValueError("a record is cut short")
        message = data[offset : offset + length]
        offset += length
        try:
            crypto_sign_open(signature + message, key)
        except BadSignatureError:
            out.append(0)
        else:
            out.append(1)
    return bytes(out)


def serve(conn: Connection) -> None:
    """Answer each batch until the socket closes."""
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send_bytes(answers(data))


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
