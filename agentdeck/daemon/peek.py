"""One question to the session host, asked without its client's machinery: each session's
state, for `agentdeck ls` (which must answer in well under 100 ms: the full client loads the
detectors, the approvals queue and the sessions' code)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from agentdeck import __version__
from agentdeck.core.fleet.views import state_text
from agentdeck.daemon import frames


def session_states(path: Path, timeout: float = 5.0) -> dict[str, str] | None:
    """Each session's state as `ls` shows it ("idle", "exited (1)", "rate-limited (resets
    3pm)"); None when no daemon answers as expected (the caller asks the long way, which
    says why)."""
    infos = session_infos(path, timeout)
    if infos is None:
        return None
    states = {}
    for info in infos:
        detection = info.get("detection") or {}
        states[info["name"]] = state_text(info.get("state", ""), info.get("exit_code"),
                                          detection.get("reset"), detection.get("detail"))
    return states


def session_infos(path: Path, timeout: float = 5.0) -> list[dict[str, Any]] | None:
    """Each session as the session host describes it (its state, usage, …); None: no daemon
    answered as expected."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        frames.send(sock, {"op": "hello", "id": 1, "protocol": frames.PROTOCOL,
                           "version": __version__})
        while True:  # pushes may come first
            header, _ = frames.recv(sock)
            if header.get("re") == 1:
                break
    except (OSError, frames.Closed, ValueError):
        return None
    finally:
        sock.close()
    result = header.get("result")
    if not header.get("ok") or not isinstance(result, dict):
        return None
    return list(result.get("sessions") or [])
