"""Keys as a terminal program expects them: names (as Textual spells them) to bytes.

Arrow and Home/End keys follow the program's cursor-key mode (DECCKM): full-screen programs that
switch it on expect ESC O A rather than ESC [ A. Pastes are wrapped in bracketed-paste markers
when the program asked for them, so a pasted newline is not taken as Enter.
"""

from __future__ import annotations

_CSI = "\x1b["
_SS3 = "\x1bO"
_FIXED = {
    "enter": "\r", "tab": "\t", "shift+tab": _CSI + "Z", "backspace": "\x7f",
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


def encode_key(key: str, character: str | None, app_cursor: bool = False) -> bytes | None:
    """Bytes for one key press, or None when the key has no terminal encoding."""
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
