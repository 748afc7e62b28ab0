"""Keys and pastes as the agent's terminal program expects them."""

from __future__ import annotations

import pytest

from agentdeck.core.screen.keys import encode_key, encode_paste


@pytest.mark.parametrize(("key", "char", "app_cursor", "expected"), [
    ("a", "a", False, b"a"),
    ("é", "é", False, "é".encode()),
    ("enter", "\r", False, b"\r"),
    ("ctrl+c", "\x03", False, b"\x03"),
    ("ctrl+d", None, False, b"\x04"),
    ("escape", "\x1b", False, b"\x1b"),
    ("up", None, False, b"\x1b[A"),
    ("up", None, True, b"\x1bOA"),  # application cursor keys (DECCKM)
    ("ctrl+left", None, True, b"\x1b[1;5D"),
    ("shift+tab", None, False, b"\x1b[Z"),
    ("f5", None, False, b"\x1b[15~"),
    ("alt+x", "x", False, b"\x1bx"),
    ("pagedown", None, False, b"\x1b[6~"),
    ("ctrl+right_square_bracket", None, False, b"\x1d"),
])
def test_encode_key(key: str, char: str | None, app_cursor: bool, expected: bytes) -> None:
    assert encode_key(key, char, app_cursor) == expected


def test_unknown_key_sends_nothing() -> None:
    assert encode_key("media_play", None) is None


def test_paste_is_bracketed_only_when_asked_and_cannot_close_the_bracket() -> None:
    assert encode_paste("a\nb", bracketed=False) == b"a\rb"
    assert encode_paste("a\nb\x1b[201~rm -rf /\n", bracketed=True) == \
        b"\x1b[200~a\rbrm -rf /\r\x1b[201~"
