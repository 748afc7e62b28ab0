"""Port allocation: free on this machine and not handed to another agent.

Callers hold the registry lock while they allocate and record, so two `agentdeck up` runs at
once never hand out the same port.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable

import psutil

from agentdeck.core.errors import OperationError


def listening_ports() -> set[int]:
    """TCP ports someone listens on, any user (Linux reads /proc/net without privileges)."""
    try:
        conns = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError):
        return set()
    return {c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN and c.laddr}


def can_bind(port: int) -> bool:
    """A real bind on every address family a dev server would use; the final word on "free"."""
    families = [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1")]
    if socket.has_ipv6:
        families.append((socket.AF_INET6, "::"))
    for family, host in families:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue  # no such address family here: nothing can collide on it
            return False
    return True


def allocate(count: int, start: int, end: int, taken: Iterable[int]) -> list[int]:
    """`count` ports in [start, end] that no agent holds and nothing listens on."""
    if count == 0:
        return []
    avoid = set(taken) | listening_ports()
    found: list[int] = []
    for port in range(start, end + 1):
        if port in avoid:
            continue
        if can_bind(port):
            found.append(port)
            if len(found) == count:
                return found
    raise OperationError(f"no free port left in {start}-{end} for {count} more; widen "
                         "defaults.ports (start/end) or remove agents you no longer need")
