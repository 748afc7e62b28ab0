"""Keys as a terminal program expects them: names (as Textual spells them) to bytes.

Arrow and Home/End keys follow the program's cursor-key mode (DECCKM): full-screen programs that
switch it on expect ESC O A rather than ESC [ A. Pastes are wrapped in bracketed-paste markers
when the program asked for them, so a pasted newline is not taken as Enter. A program that
turned on the kitty keyboard protocol (CSI > flags u, as Codex CLI and Claude Code do where the
terminal offers it) gets its keys in that protocol's CSI u form: shift+enter, ctrl+enter and
alt+letter are then keys of their own, as in Ghostty or kitty. (Key releases are not sent:
the dashboard's own terminal reports presses only.)
"""

from __future__ import annotations

import unicodedata

_CSI = "\x1b["
_SS3 = "\x1bO"
_FIXED = {
    "enter": "\r", "shift+enter": "\r", "ctrl+enter": "\r", "alt+enter": "\x1b\r",
    "tab": "\t", "shift+tab": _CSI + "Z", "backspace": "\x7f",
    "ctrl+h": "\x08", "escape": "\x1b", "insert": _CSI + "2~", "delete": _CSI + "3~",
    "pageup": _CSI + "5~", "pagedown": _CSI + "6~", "space": " ", "ctrl+space": "\x00",
    "ctrl+@": "\x00", "ctrl+backslash": "\x1c", "ctrl+right_square_bracket": "\x1d",
    "ctrl+circumflex_accent": "\x1e", "ctrl+underscore": "\x1f", "ctrl+left_square_bracket": "\x1b",
    "f1": _SS3 + "P", "f2": _SS3 + "Q", "f3": _SS3 + "R", "f4": _SS3 + "S",
    "f5": _CSI + "15~", "f6": _CSI + "17~", "f7": _CSI + "18~", "f8": _CSI + "19~",
    "f9": _CSI + "20~", "f10": _CSI + "21~", "f11": _CSI + "23~", "f12": _CSI + "24~",
}
_CURSOR = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
_MODIFIERS = {"shift": 2, "alt": 3, "shift+alt": 4, "ctrl": 5, "shift+ctrl": 6, "ctrl+shift": 6,
              "alt+ctrl": 7, "ctrl+alt": 7}


# kitty keyboard protocol flags (https://sw.kovidgoyal.net/kitty/keyboard-protocol/)
DISAMBIGUATE, ALL_AS_ESCAPES, ASSOCIATED_TEXT = 1, 8, 16
_KITTY_CODES = {"enter": 13, "tab": 9, "backspace": 127, "escape": 27, "space": 32}
_KITTY_MODS = {"shift": 1, "alt": 2, "ctrl": 4, "super": 8, "meta": 32}


def encode_key(key: str, character: str | None, app_cursor: bool = False,
               kitty_flags: int = 0) -> bytes | None:
    """Bytes for one key press, or None when the key has no terminal encoding."""
    if kitty_flags & (DISAMBIGUATE | ALL_AS_ESCAPES):
        kitty = _kitty(key, character, kitty_flags)
        if kitty is not None:
            return kitty
    if key in _FIXED:
        return _FIXED[key].encode()
    modifiers, _, base = key.rpartition("+")
    if base in _CURSOR:
        if not modifiers:
            return ((_SS3 if app_cursor else _CSI) + _CURSOR[base]).encode()
        code = _MODIFIERS.get(modifiers)
        if code:
            return f"{_CSI}1;{code}{_CURSOR[base]}".encode()
    if modifiers == "ctrl" and len(base) == 1 and base.isalpha():
        return bytes([ord(base.lower()) - 96])
    if modifiers == "alt" and len(base) == 1:
        return b"\x1b" + base.encode()
    if modifiers.startswith("alt") and character:
        return b"\x1b" + character.encode()
    if character and character.isprintable():
        return character.encode()
    if character and len(character) == 1 and ord(character) < 32:
        return character.encode()
    return None


def encode_paste(text: str, bracketed: bool) -> bytes:
    body = text.replace("\r\n", "\r").replace("\n", "\r")
    if bracketed:
        # a paste must not be able to end the bracket early
        body = body.replace("\x1b[201~", "")
        return f"\x1b[200~{body}\x1b[201~".encode()
    return body.encode()


def _kitty(key: str, character: str | None, flags: int) -> bytes | None:
    """The CSI u form of a key under the kitty protocol, or None where the protocol keeps the
    legacy bytes (arrows, function keys; plain text and unmodified Enter, Tab and Backspace
    unless every key is to be an escape code)."""
    *names, base = key.split("+")
    mods = 0
    for name in names:
        if name not in _KITTY_MODS:
            return None
        mods |= _KITTY_MODS[name]
    if base in _KITTY_CODES:
        code = _KITTY_CODES[base]
    elif len(base) == 1:
        code = ord(base.lower())
        if base.isupper():
            mods |= 1  # Textual names shift+a "A"
    elif character and len(character) == 1 and character.isprintable() and not mods & 4:
        code = ord(character)  # a named printable key (Textual's "minus", "full_stop", …)
    else:
        return None  # arrows, Home/End, function keys: their legacy forms stand
    every = bool(flags & ALL_AS_ESCAPES)
    text_key = code not in (13, 9, 127, 27)
    if not every:
        if code == 27 and not mods:
            return b"\x1b[27u"  # the reason for the protocol: Esc is no longer ambiguous
        if not mods or (mods == 1 and text_key):
            return None  # plain text, shifted text, and unmodified Enter/Tab/Backspace
    if mods & 1 and text_key and character and len(character) == 1:
        code = ord(character.lower()) if character.isalpha() else code
    params = f"{code}"
    if mods or (every and flags & ASSOCIATED_TEXT and text_key and character):
        params += f";{mods + 1}"
    if every and flags & ASSOCIATED_TEXT and text_key and character and character.isprintable():
        params += f";{ord(character)}"
    return f"\x1b[{params}u".encode()



# A key name as Textual spells a key press (the pane compares the release key with it):
# modifiers joined by "+", then one key
_KEY_MODIFIERS = ("shift", "ctrl", "alt", "super", "hyper", "meta")
_NAMED_KEYS = frozenset((
    *(k.rpartition("+")[2] for k in _FIXED), *_CURSOR, *(f"f{n}" for n in range(1, 25)),
    "at", "slash", "backslash", "minus", "plus", "underscore",
))
# keys an agent needs as they are: released to the dashboard, they would never reach it
_AGENT_KEYS = frozenset(("enter", "tab", "backspace", "space", "escape", "delete"))


def _character_key(base: str) -> bool:
    """A letter, a digit, or a printable ASCII character by its Textual name (full_stop)."""
    if len(base) == 1:
        return base.isascii() and base.isalnum()
    try:
        char = unicodedata.lookup(base.replace("_", " ").upper())
    except KeyError:
        return False
    return char.isascii() and char.isprintable() and not char.isalnum()


def key_problem(key: str) -> str | None:
    """Why `key` cannot be the key that gives the keyboard back from a pane, or None: it must
    be a key Textual reports (e.g. ctrl+right_square_bracket, f12, alt+q), and not one that
    types text or that agents need (those go to the agent)."""
    *mods, base = key.split("+")
    if not base or any(m not in _KEY_MODIFIERS for m in mods) or len(set(mods)) != len(mods):
        return (f"'{key}' is not a key: modifiers ({', '.join(_KEY_MODIFIERS)}) joined by '+' "
                "to one key, e.g. ctrl+right_square_bracket or f12")
    character = _character_key(base)
    if not character and base not in _NAMED_KEYS:
        return (f"'{key}': '{base}' is not a key name (a letter, a digit, a name such as "
                "right_square_bracket, escape, f1-f24, up, pageup)")
    if set(mods) <= {"shift"} and (character or base in _AGENT_KEYS):
        return (f"'{key}' is a key agents need (it types text or answers them); add a "
                "modifier, e.g. ctrl+right_square_bracket")
    return None
