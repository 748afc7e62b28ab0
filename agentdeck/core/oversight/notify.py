"""Telling the user a prompt waits, outside the dashboard: their own command (a webhook call,
a phone push) and, where the desktop has a notifier, a desktop notification (notify-send on
Linux; on macOS terminal-notifier, else osascript — built from Apple's documented `display
notification`, unverified here: no macOS machine runs the tests). Both run on a thread of their
own, so a slow command never holds up the queue."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable

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
