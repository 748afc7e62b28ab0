"""What a key, a paste or a change of focus in a TerminalPane sends its agent, by the modes
its terminal is in (cursor keys, the kitty keyboard protocol, bracketed paste, focus events):
read under the terminal's lock, as each arrives."""

from __future__ import annotations

from agentdeck.core.agents.sessions import TerminalView
from agentdeck.core.screen.keys import encode_key, encode_paste

FOCUS_IN, FOCUS_OUT = b"\x1b[I", b"\x1b[O"


def key_bytes(view: TerminalView, key: str, character: str | None) -> bytes:
    """The key's bytes (b"" for a key with no terminal encoding)."""
    with view as emulator:
        modes = emulator.modes()
    return encode_key(key, character, modes.app_cursor, modes.kitty_flags or 0) or b""


def paste_bytes(view: TerminalView, text: str) -> bytes:
    with view as emulator:
        bracketed = emulator.modes().bracketed_paste
    return encode_paste(text, bracketed)


def focus_bytes(view: TerminalView, focused: bool) -> bytes:
    """Focus in / out, to an agent that asked for them (mode 1004): typing into its pane is its
    terminal having the focus. b"" for one that did not."""
    with view as emulator:
        wanted = emulator.modes().focus_events
    return (FOCUS_IN if focused else FOCUS_OUT) if wanted else b""
