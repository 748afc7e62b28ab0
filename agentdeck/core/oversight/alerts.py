"""Telling the user what happened while they look elsewhere: every notification agentdeck sends
outside its dashboard's own screen.

- The session host's alerts (`Alerts`), sent whether or not a dashboard is open: a prompt
  waiting longer than `notify.after`, an agent that finished its turn, one that hit its rate
  limit, one that exited with an error (`Happenings` says which state changes are news).
  Channels: an ntfy topic, a JSON webhook (Slack- and Discord-shaped payloads too), a desktop
  notification and a sound.
- The instant word of each new prompt (`prompt_waiting`): the user's own command
  (`dashboard.notify`: a webhook call, a phone push) and, with `dashboard.desktop`, a desktop
  notification — through the notifier where the session host runs (notify-send on Linux; on
  macOS terminal-notifier, else osascript, built from Apple's documented `display
  notification`, unverified here: no macOS machine runs the tests), and from a dashboard through
  its terminal (`desktop_notification`: OSC 777 and OSC 9, so it works over ssh).

Each alert carries the agent, this host, the event and the whole command or file; repeats of
the same event for the same agent within COALESCE seconds are held and counted into the next
one; the values of the fleet's environment and anything shaped like a credential are replaced
by "[secret]" before a message leaves. Delivery runs on threads of its own: a slow or dead
endpoint or command never holds up the session host or the queue.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agentdeck.core.fleet.options import NotifySpec
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.oversight import actions as push_actions

COALESCE = 60.0  # seconds: the same event of the same agent again within this is held
WAITING, FINISHED, RATE_LIMITED, ERROR = "waiting", "finished", "rate-limited", "error"
TITLES = {WAITING: "waits for an answer", FINISHED: "finished its turn",
          RATE_LIMITED: "hit its rate limit", ERROR: "exited with an error"}
# shapes of credentials that may show up in a command line an agent runs
CREDENTIALS = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
    r"AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+|"
    r"(?i:(?:password|passwd|token|secret|api[_-]?key)\s*[=:]\s*)\S+)")
SOUNDS = ("/usr/share/sounds/freedesktop/stereo/message-new-instant.oga",
          "/usr/share/sounds/freedesktop/stereo/bell.oga", "/System/Library/Sounds/Glass.aiff")


@dataclass
class Alert:
    event: str
    agent: str
    kind: str = ""  # the prompt's kind (bash, edit, …) for a waiting prompt
    detail: str = ""  # the whole command or file; the exit status; the reset time
    host: str = field(default_factory=socket.gethostname)
    repeats: int = 0  # held repeats of it since the last one sent
    url: str = ""  # the dashboard's address when `agentdeck serve` runs (without its token)
    entry: int = 0  # a waiting prompt's queue entry: its Allow / Deny actions answer that one

    @property
    def title(self) -> str:
        return f"agentdeck: {self.agent} {TITLES.get(self.event, self.event)}"

    @property
    def text(self) -> str:
        head = f"{self.agent} on {self.host} {TITLES.get(self.event, self.event)}"
        what = f"{self.kind}: {self.detail}" if self.kind else self.detail
        more = f" (+{self.repeats} more)" if self.repeats else ""
        return f"{head}{more}" + (f"\n{what}" if what else "")

    def fields(self) -> dict[str, object]:
        return {"event": self.event, "agent": self.agent, "host": self.host, "kind": self.kind,
                "detail": self.detail, "repeats": self.repeats, "url": self.url,
                "title": self.title, "text": self.text}


def fleet_secrets(fleet: Fleet) -> set[str]:
    """What the fleet hands agents through their environment: never in a notification."""
    specs = [fleet.defaults, *fleet.agents]
    return {value for spec in specs for value in spec.env.values() if value}


def redact(text: str, secrets: Iterable[str]) -> str:
    for value in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(value, "[secret]")
    return CREDENTIALS.sub("[secret]", text)


class Alerts:
    """The session host's notifier. `send(alert)` goes through coalescing and redaction;
    `prompt(agent, entry_id, kind, summary)` sends a waiting alert once the prompt has waited
    `spec.after` seconds (if `still_pending(entry_id)` then)."""

    def __init__(self, spec: NotifySpec, secrets: Iterable[str] = (),
                 still_pending: Callable[[int], bool] = lambda _id: True,
                 url: Callable[[], str] = lambda: "",
                 post: Callable[[str, bytes, dict[str, str]], None] | None = None,
                 actions: Callable[[int, str], dict[str, str]] | None = None) -> None:
        """`actions(entry, channel)`: a waiting prompt's action URLs for that channel
        (decision -> URL, core/oversight/actions.py), none while `agentdeck serve` is off."""
        self.spec = spec
        self.secrets = tuple(secrets)
        self.still_pending = still_pending
        self.url = url
        self.actions = actions or (lambda _entry, _channel: {})
        self._post = post or _post
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str, int], float] = {}
        self._held: dict[tuple[str, str, int], int] = {}
        self._timers: list[threading.Timer] = []

    @property
    def on(self) -> bool:
        return bool(self.spec.ntfy_topic or self.spec.webhook or self.spec.desktop
                    or self.spec.sound)

    def prompt(self, agent: str, entry_id: int, kind: str, summary: str) -> None:
        if not self.on or WAITING not in self.spec.events:
            return

        def due() -> None:
            if self.still_pending(entry_id):
                self.send(Alert(WAITING, agent, kind, summary, entry=entry_id))

        timer = threading.Timer(self.spec.after, due)
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def send(self, alert: Alert) -> bool:
        """False when it was held (a repeat) or nothing is configured."""
        if not self.on or alert.event not in self.spec.events:
            return False
        # (each waiting prompt is a question of its own, answerable from its notification:
        # never held as a repeat of the one before)
        key = (alert.agent, alert.event, alert.entry)
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -COALESCE) < COALESCE:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._last[key] = now
            alert.repeats = self._held.pop(key, 0)
        alert.detail = redact(alert.detail, self.secrets)
        alert.url = self.url()
        threading.Thread(target=self._deliver, args=(alert,), daemon=True).start()
        return True

    def _deliver(self, alert: Alert) -> None:
        spec = self.spec
        if spec.ntfy_topic:
            headers = {"Title": alert.title, "Tags": alert.event}
            if alert.url:
                headers["Click"] = alert.url
            if alert.entry:
                urls = self.actions(alert.entry, "ntfy")
                headers.update(push_actions.ntfy_headers(urls) if urls else {})
            self._try(f"{spec.ntfy_server.rstrip('/')}/{spec.ntfy_topic}",
                      alert.text.encode(), headers)
        if spec.webhook:
            payload: dict[str, object] = alert.fields()
            if spec.webhook_format == "slack":
                payload = {"text": f"*{alert.title}*\n{alert.text}"}
            elif spec.webhook_format == "discord":
                payload = {"content": f"**{alert.title}**\n{alert.text}"}
            urls = self.actions(alert.entry, spec.webhook_format) if alert.entry else {}
            if urls:
                payload = push_actions.webhook_payload(payload, spec.webhook_format, urls)
            self._try(spec.webhook, json.dumps(payload).encode(),
                      {"Content-Type": "application/json"})
        if spec.desktop:
            argv = notifier_argv(alert.title, alert.text)
            if argv:
                _run(argv)
        if spec.sound:
            _run(_sound_argv())

    def _try(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._post(url, body, headers)

    def close(self) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    import urllib.request  # (HTTP and TLS: loaded by the first notification, not at start)

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _sound_argv() -> list[str]:
    for player in ("paplay", "afplay", "aplay"):
        path = shutil.which(player)
        if path:
            sound = next((s for s in SOUNDS if os.path.exists(s)), None)
            if sound:
                return [path, sound]
    return []


def _run(argv: list[str]) -> None:
    if not argv:
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(argv, timeout=10, stdin=subprocess.DEVNULL, capture_output=True,
                       check=False)



class Happenings:
    """Which of an agent's state changes are news, so a notification says only what happened:
    "finished its turn" once an agent that was given work (a message or its task submitted, its
    CLI's prompt hook, the task on its command line) has worked and is back at its input — not
    the first quiet moment after it started; "exited with an error" only for an exit agentdeck
    did not cause — a stop, a restart, a removal, a budget's interrupt or the session host's own
    shutdown is none. Kept by the session host across reconfigurations (the Alerts are
    replaced then; what each agent was doing is not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, str] = {}  # each agent's last state
        self._asked: set[str] = set()  # given work since its last finished turn
        self._ending: set[str] = set()  # agentdeck is ending it: its exit is no error
        self._interrupted: set[str] = set()  # a budget interrupted it: an exit now is no error

    def started(self, name: str, with_task: bool = False) -> None:
        """A new run of `name` (its task on its command line: it works on it at once)."""
        with self._lock:
            self._ending.discard(name)
            self._interrupted.discard(name)
            self._states.pop(name, None)
            self._asked.discard(name)
            if with_task:
                self._asked.add(name)

    def asked(self, name: str) -> None:
        """Work reached `name`: what it does next is a turn of its own."""
        with self._lock:
            self._asked.add(name)
            self._interrupted.discard(name)

    def cut_short(self, name: str) -> None:
        """agentdeck interrupted `name`'s turn (a budget): the turn's end is not a finish,
        nor an exit the interrupt brought about an error."""
        with self._lock:
            self._asked.discard(name)
            self._interrupted.add(name)

    def ending(self, name: str) -> None:
        """agentdeck is ending `name` (stop, restart, removal, shutdown)."""
        with self._lock:
            self._ending.add(name)
            self._asked.discard(name)

    def news(self, name: str, state: str, detail: str = "") -> Alert | None:
        """The alert a change of `name` to `state` makes, if any (`detail`: the exit status or
        why it failed; the rate limit's reset)."""
        with self._lock:
            old = self._states.get(name, "")
            self._states[name] = state
            if state == old:
                return None
            if old == "working" and state == "idle":
                if name not in self._asked:
                    return None  # it started up, or redrew: no turn of work ended
                self._asked.discard(name)
                return Alert(FINISHED, name)
            if state == "rate-limited":
                return Alert(RATE_LIMITED, name, detail=detail)
            if state in ("exited", "failed"):
                self._asked.discard(name)
                if name in self._ending or name in self._interrupted or detail in ("", "0"):
                    return None
                return Alert(ERROR, name, detail=detail)
            return None


# -- a new prompt, at once: the user's command, a desktop notification -----------------------

# AppleScript that reads the title and the text as arguments: nothing from an agent's screen
# is ever parsed as AppleScript
_OSASCRIPT = ["-e", "on run argv", "-e",
              "display notification (item 2 of argv) with title (item 1 of argv)",
              "-e", "end run"]


def notifier_argv(title: str, body: str, platform: str = sys.platform,
                  which: Callable[[str], str | None] = shutil.which) -> list[str] | None:
    """The command that shows a desktop notification here, or None where there is none."""
    if platform == "darwin":
        if which("terminal-notifier"):
            return ["terminal-notifier", "-title", title, "-message", body]
        if which("osascript"):
            return ["osascript", *_OSASCRIPT, title, body]
        return None
    found = which("notify-send")
    return [found, title, body] if found else None


def prompt_waiting(agent: str, summary: str, command: str | None,
                   desktop: bool = False) -> None:
    """A new prompt: run the user's `command` (agent and summary in its environment) and, with
    `desktop`, show a desktop notification here — on a thread of its own."""
    notifier = notifier_argv(f"agentdeck: {agent} waits", summary) if desktop else None
    if not command and not notifier:
        return
    env = dict(os.environ, AGENTDECK_AGENT=agent, AGENTDECK_SUMMARY=summary)

    def run() -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if command:  # the user's own command line; agent and summary reach it only via env
                subprocess.run(command, shell=True, env=env, timeout=30,
                               stdin=subprocess.DEVNULL, capture_output=True)
            if notifier:
                subprocess.run(notifier, timeout=10, stdin=subprocess.DEVNULL,
                               capture_output=True)

    threading.Thread(target=run, daemon=True).start()


_UNSAFE = re.compile(r"[\x00-\x1f\x7f;]")


def desktop_notification(title: str, body: str, tmux: bool = False) -> str:
    """The escape sequences a dashboard writes to its terminal for a desktop notification: OSC
    777 (Ghostty, WezTerm, foot, rxvt) and OSC 9 (iTerm2, kitty, Windows Terminal); a terminal
    that knows neither ignores both. Inside tmux each goes through tmux's passthrough (`set -g
    allow-passthrough on`) to the terminal tmux runs in."""
    # the text comes from an agent's screen: no control characters may reach the terminal
    title, body = _UNSAFE.sub(" ", title)[:80], _UNSAFE.sub(" ", body)[:200]
    sequences = [f"\x1b]777;notify;{title};{body}\x1b\\", f"\x1b]9;{title}: {body}\x1b\\"]
    if tmux:  # DCS tmux; … ST, each ESC inside doubled
        sequences = ["\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
                     for seq in sequences]
    return "".join(sequences)
