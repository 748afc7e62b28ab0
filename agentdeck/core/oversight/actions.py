"""Answers from a notification: a waiting prompt's push (core/oversight/alerts.py) carries
"Allow" and "Deny" actions — ntfy's http action buttons, `allow_url` / `deny_url` in a json webhook,
buttons in Slack's, links in Discord's — that answer through `agentdeck serve` at
`/push/<capability>`.

A capability is a random secret the session host makes for one prompt's occurrence (its queue
entry), one decision and one channel. It answers that entry once: used, every capability of
the entry is gone, on every channel; it is refused once the entry has left the queue (answered
anywhere else, withdrawn by the agent) and after `notify.action_ttl`; it answers no other
prompt. Only a SHA-256 of each is kept, in the session host's memory: nothing on disk, nothing
in a log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ALLOW, DENY = "allow", "deny"
LABELS = {ALLOW: "Allow", DENY: "Deny"}
PATH = "push/"  # under serve's address


@dataclass(frozen=True)
class Capability:
    entry: int  # the queue entry (the prompt's occurrence)
    decision: str  # allow | deny
    channel: str  # ntfy | json | slack | discord
    expires: float  # on `clock`


class Refused(Exception):
    """A capability that answers nothing (spent, expired, unknown, its prompt gone)."""


class Actions:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._caps: dict[str, Capability] = {}  # sha256 hex -> what it answers

    def mint(self, entry: int, channel: str, base: str) -> dict[str, str]:
        """The action URLs (decision -> URL under `base`, serve's address) for `entry` on
        `channel`."""
        urls: dict[str, str] = {}
        with self._lock:
            self._expire()
            expires = self.clock() + self.ttl
            for decision in (ALLOW, DENY):
                secret = secrets.token_urlsafe(24)
                self._caps[_digest(secret)] = Capability(entry, decision, channel, expires)
                urls[decision] = f"{base.rstrip('/')}/{PATH}{secret}"
        return urls

    def peek(self, secret: str) -> Capability:
        """What `secret` would answer (nothing spent); Refused when it answers nothing."""
        with self._lock:
            return self._valid(secret)

    def take(self, secret: str, pending: Callable[[int], bool]) -> Capability:
        """Spend `secret`: what it answers, every capability of its entry gone with it.
        Refused when it answers nothing, or when its entry is no longer `pending`."""
        with self._lock:
            cap = self._valid(secret)
            self._drop(cap.entry)
        if not pending(cap.entry):
            raise Refused("that prompt is no longer waiting: it was answered or withdrawn")
        return cap

    def forget(self, keep: set[int]) -> None:
        """The entries not in `keep` left the queue: their capabilities go."""
        with self._lock:
            self._caps = {k: c for k, c in self._caps.items() if c.entry in keep}

    def _valid(self, secret: str) -> Capability:
        self._expire()
        wanted = _digest(secret)
        found = next((cap for key, cap in self._caps.items()
                      if hmac.compare_digest(key, wanted)), None)
        if found is None:
            raise Refused("this action was used already, has expired, or its prompt is no "
                          "longer waiting")
        return found

    def _drop(self, entry: int) -> None:
        self._caps = {k: c for k, c in self._caps.items() if c.entry != entry}

    def _expire(self) -> None:
        now = self.clock()
        self._caps = {k: c for k, c in self._caps.items() if c.expires > now}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- what each channel carries ---------------------------------------------------------------
def ntfy_headers(urls: dict[str, str]) -> dict[str, str]:
    """ntfy's http actions: a tap POSTs the URL from the phone (the notification goes)."""
    return {"Actions": "; ".join(f"http, {LABELS[d]}, {url}, method=POST, clear=true"
                                 for d, url in urls.items())}


def webhook_payload(payload: dict[str, Any], fmt: str, urls: dict[str, str]) -> dict[str, Any]:
    """A webhook's payload with the actions its format can carry."""
    if fmt == "json":
        return {**payload, "allow_url": urls[ALLOW], "deny_url": urls[DENY]}
    if fmt == "slack":  # link buttons: Slack opens serve's page, whose button answers
        text = payload.get("text", "")
        buttons = [{"type": "button", "text": {"type": "plain_text", "text": LABELS[d]},
                    "url": url, "style": "primary" if d == ALLOW else "danger"}
                   for d, url in urls.items()]
        return {**payload, "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "elements": buttons}]}
    if fmt == "discord":  # a webhook's message has no buttons: links, to the same page
        links = " · ".join(f"[{LABELS[d]}]({url})" for d, url in urls.items())
        return {**payload, "content": f"{payload.get('content', '')}\n{links}"}
    return payload
