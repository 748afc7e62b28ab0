"""The session host's wire frames: two lengths (network order), a JSON header and a binary
payload. Apart from the records (protocol.py) so a quick command (`agentdeck ls`) can ask the
daemon something without loading the detectors and the sessions' code."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

# the wire format's version: a dashboard and a session host that differ refuse each other with
# one line (the daemon then needs a restart), rather than misreading each other
PROTOCOL = 2
_LENGTHS = struct.Struct("!II")
MAX_HEADER = 16 << 20
MAX_PAYLOAD = 64 << 20


class Closed(ConnectionError):
    """The other end went away."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    return b"".join(encode_parts(header, [payload]))


def encode_parts(header: dict[str, Any], payload: list[bytes]) -> list[bytes]:
    """A frame whose payload is `payload`'s pieces, as pieces: many frames joined once (a
    flood's output was copied three times on its way to a dashboard)."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return [_LENGTHS.pack(len(head), sum(map(len, payload))) + head, *payload]


def send(sock: socket.socket, header: dict[str, Any], payload: bytes = b"") -> None:
    sock.sendall(encode(header, payload))


def recv(sock: socket.socket) -> tuple[dict[str, Any], bytes]:
    head_len, payload_len = _LENGTHS.unpack(_exactly(sock, _LENGTHS.size))
    if head_len > MAX_HEADER or payload_len > MAX_PAYLOAD:
        raise Closed("frame too large")
    header = json.loads(_exactly(sock, head_len))
    payload = _exactly(sock, payload_len) if payload_len else b""
    if not isinstance(header, dict):
        raise Closed("malformed frame")
    return header, payload


def _exactly(sock: socket.socket, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise Closed("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


