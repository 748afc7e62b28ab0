"""Telling the user a prompt waits, outside the dashboard: their own command (a webhook call,
a phone push) and, where the desktop has a notifier, a desktop notification. Both run on a
thread of their own, so a slow command never holds up the queue."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading


def prompt_waiting(agent: str, summary: str, command: str | None,
                   desktop: bool = False) -> None:
    notifier = shutil.which("notify-send") if desktop else None
    if not command and not notifier:
        return
    env = dict(os.environ, AGENTDECK_AGENT=agent, AGENTDECK_SUMMARY=summary)

    def run() -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if command:  # the user's own command line; agent and summary reach it only via env
                subprocess.run(command, shell=True, env=env, timeout=30,
                               stdin=subprocess.DEVNULL, capture_output=True)
            if notifier:
                subprocess.run([notifier, f"agentdeck: {agent} waits", summary], timeout=10,
                               stdin=subprocess.DEVNULL, capture_output=True)

    threading.Thread(target=run, daemon=True).start()
