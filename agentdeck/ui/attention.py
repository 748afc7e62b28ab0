"""Desktop notifications sent through the terminal, so they work over ssh and need no
notification daemon: OSC 777 (Ghostty, WezTerm, foot, rxvt) and OSC 9 (iTerm2, kitty, Windows
Terminal). A terminal that knows neither ignores both. Inside tmux each goes through tmux's
passthrough (`set -g allow-passthrough on`) to the terminal tmux runs in."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f;]")


def desktop_notification(title: str, body: str, tmux: bool = False) -> str:
    # the text comes from an agent's screen: no control characters may reach the terminal
    title, body = _UNSAFE.sub(" ", title)[:80], _UNSAFE.sub(" ", body)[:200]
    sequences = [f"\x1b]777;notify;{title};{body}\x1b\\", f"\x1b]9;{title}: {body}\x1b\\"]
    if tmux:  # DCS tmux; … ST, each ESC inside doubled
        sequences = ["\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
                     for seq in sequences]
    return "".join(sequences)
