"""Paired devices of `agentdeck serve`: instead of one token for everyone, forever, each device
gets its own, through a one-time pairing code that is valid for five minutes.

`agentdeck serve --pair` makes a code and shows it (a QR code and a link); the device that
opens the link names itself and gets a token in a cookie (the link's code is then spent; no
token ever appears in a URL). `agentdeck serve devices` lists them, `--revoke NAME` ends one:
its next request is refused, its open pages are closed. Only a SHA-256 of each token and code
is kept (`devices.json` under the registry folder, 0600): the file lets nobody in.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.files import atomic_write, locked

STORE = "devices.json"
PAIRING_TTL = 300.0  # seconds a pairing code is good for
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")


@dataclass
class Device:
    name: str
    digest: str  # sha256 of its token, hex
    paired_at: float  # wall clock
    seen_at: float = 0.0  # its last request (rounded to the minute: not a trace of the user)


@dataclass
class Pairing:
    digest: str  # sha256 of the code, hex
    expires: float  # wall clock
    name: str = ""  # the name it was made for (`serve --pair NAME`), else the device says


def check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise UsageError(f"'{name}' is not a device name (lower case letters, digits, '.', "
                         "'_' and '-', at most 32)")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def device_name(text: str) -> str:
    """A name as a device may be called: lower case letters, digits, . _ -; what a browser
    says of itself ("Pixel 8") made one."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower()).strip("-._")[:32]
    return name or "device"


def guess_name(user_agent: str) -> str:
    """A name for the device a browser runs on, from its User-Agent ("pixel-8", "iphone")."""
    for pattern in (r"\(Linux; Android [\d.]+; ([^;)]+?)(?: Build/[^;)]*)?\)", r"(iPhone)",
                    r"(iPad)", r"(Macintosh)", r"(Windows)", r"(X11; Linux)"):
        match = re.search(pattern, user_agent)
        if match:
            found = match.group(1).replace("X11; ", "")
            return device_name("phone" if found == "K" else found)
    return "browser"


class Devices:
    """The store, read anew for every question (a `serve devices --revoke` in another process
    counts at once), changed under a lock."""

    def __init__(self, state_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = state_dir / STORE
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        return [Device(**d) for d in self._read().get("devices", [])]

    def who(self, token: str) -> str | None:
        """The name of the device `token` is, if it is one's."""
        if not token:
            return None
        wanted = digest(token)
        for device in self.devices():
            if hmac.compare_digest(device.digest, wanted):
                return device.name
        return None

    def pairing(self, code: str) -> Pairing | None:
        """The pairing `code` opens, if it is one and still valid (not spent)."""
        if not code:
            return None
        wanted, now = digest(code), self.clock()
        for raw in self._read().get("pairings", []):
            pairing = Pairing(**raw)
            if pairing.expires > now and hmac.compare_digest(pairing.digest, wanted):
                return pairing
        return None

    # -- changing --------------------------------------------------------------------------
    def new_pairing(self, name: str = "") -> str:
        """A one-time code, valid for PAIRING_TTL seconds (for a device called `name`)."""
        if name:
            check_name(name)
        code = secrets.token_urlsafe(18)
        with self._changing() as data:
            now = self.clock()
            data["pairings"] = [p for p in data.get("pairings", []) if p["expires"] > now]
            data["pairings"].append(asdict(Pairing(digest(code), now + PAIRING_TTL, name)))
        return code

    def pair(self, code: str, name: str) -> tuple[str, str]:
        """Spend `code` on a device called `name` (made unique: pixel-8, pixel-8-2): its
        name and its new token. OperationError when the code is not valid (any more)."""
        token = secrets.token_urlsafe(32)
        with self._changing() as data:
            now = self.clock()
            wanted = digest(code)
            pairings = [p for p in data.get("pairings", []) if p["expires"] > now]
            found = next((p for p in pairings if hmac.compare_digest(p["digest"], wanted)),
                         None)
            if found is None:
                raise OperationError("this pairing link is spent or has expired: "
                                     "`agentdeck serve --pair` makes a new one")
            pairings.remove(found)
            data["pairings"] = pairings
            taken = {d["name"] for d in data.get("devices", [])}
            base = device_name(found["name"] or name)
            unique = base
            for n in range(2, 1000):
                if unique not in taken:
                    break
                unique = f"{base}-{n}"
            data.setdefault("devices", []).append(asdict(Device(unique, digest(token), now)))
        return unique, token

    def revoke(self, name: str) -> bool:
        with self._changing() as data:
            before = data.get("devices", [])
            data["devices"] = [d for d in before if d["name"] != name]
            return len(data["devices"]) != len(before)

    def seen(self, name: str) -> None:
        """`name` made a request (recorded once a minute at most)."""
        minute = self.clock() // 60 * 60
        if any(d.name == name and d.seen_at >= minute for d in self.devices()):
            return
        with self._changing() as data:
            for device in data.get("devices", []):
                if device["name"] == name:
                    device["seen_at"] = minute

    # -- the file ----------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise OperationError(f"{self.path}: unreadable ({exc}); remove it to pair the "
                                 "devices again") from None
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        with locked(self.path.with_suffix(".lock")):
            data = self._read()
            yield data
            atomic_write(self.path, json.dumps(data, indent=1) + "\n", mode=0o600)
