"""The session host daemon's wire format, and the records it carries.

A frame is two lengths (network order), a JSON header and a binary payload (terminal bytes
travel as they are, never re-encoded). Requests carry an "op" and an "id"; the reply carries
"re": id, "ok", and "result" or "error" with the error's "type". Pushes carry "push".
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import asdict, fields
from typing import Any, TypeVar

from agentdeck.core.detect import Detection, Prompt
from agentdeck.core.sessions import SessionInfo, SessionSpec

# the wire format's version: a dashboard and a session host that differ refuse each other with
# one line (the daemon then needs a restart), rather than misreading each other
PROTOCOL = 2
_LENGTHS = struct.Struct("!II")
_T = TypeVar("_T")
MAX_HEADER = 16 << 20
MAX_PAYLOAD = 64 << 20


class Closed(ConnectionError):
    """The other end went away."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return _LENGTHS.pack(len(head), len(payload)) + head + payload


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


# -- records --------------------------------------------------------------------------------
def info_to_wire(info: SessionInfo) -> dict[str, Any]:
    return asdict(info)


def known(cls: type[_T], data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the fields `cls` does not have: a newer peer's additions are ignored."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return {k: v for k, v in data.items() if k in names}


def prompt_from_wire(data: dict[str, Any]) -> Prompt:
    return Prompt(**known(Prompt, data))


def info_from_wire(data: dict[str, Any]) -> SessionInfo:
    detection = detection_from_wire(data.get("detection") or {})
    return SessionInfo(**{k: v for k, v in known(SessionInfo, data).items()
                          if k != "detection"}, detection=detection)


def spec_to_wire(spec: SessionSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["argv"] = list(spec.argv)
    data["env"] = dict(spec.env)
    return data


def spec_from_wire(data: dict[str, Any]) -> SessionSpec:
    return SessionSpec(**{**known(SessionSpec, data), "argv": tuple(data["argv"])})


def detection_from_wire(det: dict[str, Any]) -> Detection:
    prompt = det.get("prompt")
    return Detection(det.get("state", "unknown"), prompt_from_wire(prompt) if prompt else None,
                     det.get("reset"))
