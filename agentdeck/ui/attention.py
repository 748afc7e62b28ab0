"""Desktop notifications sent through the terminal, so they work over ssh and need no
notification daemon: OSC 777 (Ghostty, WezTerm, foot, rxvt) and OSC 9 (iTerm2, kitty, Windows
Terminal). A terminal that knows neither ignores both."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f;]")


def desktop_notification(title: str, body: str) -> str:
    # the text comes from an agent's screen: no control characters may reach the terminal
    title, body = _UNSAFE.sub(" ", title)[:80], _UNSAFE.sub(" ", body)[:200]
    return f"\x1b]777;notify;{title};{body}\x1b\\\x1b]9;{title}: {body}\x1b\\"
