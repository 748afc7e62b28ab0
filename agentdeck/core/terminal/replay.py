"""An emulator's state as bytes that rebuild it: what a dashboard attaching to the session host
feeds its own emulator so its pane shows what the host's shows, then the live output follows.

The stream holds the scrollback (as the text lines the program printed; a line re-wraps at the
same width exactly as it did), the live screen with its colours and attributes (a row the
terminal soft-wrapped is printed so the new emulator wraps it too), the cursor, and the modes a
program set (application cursor keys, bracketed paste, alternate screen, hidden cursor). What it
cannot carry: the colours of scrollback lines and, while a full-screen program runs, the hidden
primary screen.
"""

from __future__ import annotations

from agentdeck.core.terminal.base import CellStyle, Color, Emulator, Run


def replay(emulator: Emulator) -> bytes:
    rows, cols = emulator.rows, emulator.cols
    emulator.take_dirty()  # refresh the rows (a backend may draw them only on demand)
    wrapped = emulator.wrapped_rows() or set()
    modes = emulator.modes()
    out: list[str] = ["\x1b[0m\x1b[H\x1b[2J"]
    history = emulator.history()
    joined = len(history) - 1 if emulator.screen_continues_history() else -1
    for n, line in enumerate(history):
        # the beginning of a line the screen goes on with: it must wrap onto the screen's first
        # row as it did, so the two stay one line when a resize reflows them
        out.append(_row([Run(line, CellStyle())], _whole_rows(line, cols)) if n == joined
                   else line + "\r\n")
    if modes.alt_screen:
        out.append("\x1b[?1049h\x1b[H\x1b[2J")
    for y in range(rows):
        runs = emulator.row(y)
        if modes.alt_screen:
            out.append(f"\x1b[{y + 1};1H")
        out.append(_row(runs, cols if y in wrapped else 0))
        if not modes.alt_screen and y < rows - 1 and y not in wrapped:
            out.append("\x1b[0m\r\n")
    x, y = emulator.cursor()
    out.append(f"\x1b[0m\x1b[{y + 1};{x + 1}H")
    if modes.app_cursor:
        out.append("\x1b[?1h")
    if modes.bracketed_paste:
        out.append("\x1b[?2004h")
    if not modes.cursor_visible:
        out.append("\x1b[?25l")
    return "".join(out).encode()


def _whole_rows(text: str, cols: int) -> int:
    width = sum(2 if _wide(c) else 1 for c in text)
    return max(-(-width // cols), 1) * cols


def _row(runs: list[Run], fill_to: int) -> str:
    if not fill_to:
        runs = _without_blank_tail(runs)
    parts: list[str] = []
    width = 0
    for run in runs:
        parts.append(sgr(run.style) + run.text)
        width += sum(2 if _wide(c) else 1 for c in run.text)
    if fill_to and width < fill_to:
        # a soft-wrapped row must reach the last column for the next character to wrap it
        parts.append(" " * (fill_to - width))
    return "".join(parts)


def _without_blank_tail(runs: list[Run]) -> list[Run]:
    """The row without the blank cells after its last character: cells never written are not
    content, and a reflow must not see them as text (narrowed, they would become blank rows)."""
    runs = list(runs)
    while runs and _invisible(runs[-1].style):
        text = runs[-1].text.rstrip(" ")
        if text:
            runs[-1] = Run(text, runs[-1].style)
            break
        runs.pop()
    return runs


def _invisible(style: CellStyle) -> bool:
    """A space in this style shows nothing (no background, no line through or under it)."""
    return style.bg is None and not (style.reverse or style.underline or style.strike)


def sgr(style: CellStyle) -> str:
    codes = ["0"]
    for flag, code in ((style.bold, "1"), (style.dim, "2"), (style.italic, "3"),
                       (style.underline, "4"), (style.reverse, "7"), (style.strike, "9")):
        if flag:
            codes.append(code)
    codes += _color(style.fg, 30)
    codes += _color(style.bg, 40)
    return f"\x1b[{';'.join(codes)}m"


def _color(color: Color, base: int) -> list[str]:
    if color is None:
        return []
    if isinstance(color, tuple):
        r, g, b = color
        return [str(base + 8), "2", str(r), str(g), str(b)]
    if color < 8:
        return [str(base + color)]
    if color < 16:
        return [str(base + 60 + color - 8)]
    return [str(base + 8), "5", str(color)]


def _wide(char: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(char) in ("W", "F")
