"""Themes shipped with agentdeck: dark, light and high contrast."""

from __future__ import annotations

from textual.theme import Theme

THEMES = {
    "agentdeck-dark": Theme(
        name="agentdeck-dark", primary="#5fafff", secondary="#87d7af", accent="#ffaf5f",
        warning="#ffd75f", error="#ff5f5f", success="#87d787", foreground="#d0d0d0",
        background="#121212", surface="#1c1c1c", panel="#262626", dark=True),
    "agentdeck-light": Theme(
        name="agentdeck-light", primary="#005fd7", secondary="#008787", accent="#d75f00",
        warning="#af8700", error="#d70000", success="#008700", foreground="#1c1c1c",
        background="#fafafa", surface="#eeeeee", panel="#e4e4e4", dark=False),
    "agentdeck-high-contrast": Theme(
        name="agentdeck-high-contrast", primary="#00ffff", secondary="#ffffff", accent="#ffff00",
        warning="#ffff00", error="#ff0000", success="#00ff00", foreground="#ffffff",
        background="#000000", surface="#000000", panel="#000000", dark=True),
}
DEFAULT_THEME = "agentdeck-dark"
