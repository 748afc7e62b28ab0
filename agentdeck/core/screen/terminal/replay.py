"""An emulator's state as bytes that rebuild it: what a dashboard attaching to the session host
feeds its own emulator so its pane shows what the host's shows, then the live output follows.

The stream holds the scrollback (as the text lines the program printed; a line re-wraps at the
same width exactly as it did), the live screen with its colours and attributes (a row the
terminal soft-wrapped is printed so the new emulator wraps it too), the cursor, and the modes a
program set (application cursor keys, bracketed paste, alternate screen, hidden cursor, focus
events, kitty keyboard flags) and its window title. Scrollback lines keep their colours and
attributes (not their hyperlinks; the beginning of a line the screen goes on with is text).
What it cannot carry: while a full-screen program runs, the hidden primary screen.
"""

from __future__ import annotations

from agentdeck.core.screen.terminal.base import (
    CellStyle,
    Color,
    Emulator,
    Run,
    char_width,
    plain_text,
    wrap_rows,
)


def replay(emulator: Emulator, history: int | None = None) -> bytes:
    """`history`: how many of the last scrollback lines in the grid to carry (None: all the
    scrollback, archive included)."""
    rows, cols = emulator.rows, emulator.cols
    emulator.take_dirty()  # refresh the rows (a backend may draw them only on demand)
    wrapped = emulator.wrapped_rows() or set()
    modes = emulator.modes()
    out: list[str] = ["\x1b[0m\x1b[H\x1b[2J"]
    # a mirror's (`history` given): the last lines the terminal's grid itself holds, which a
    # resize reflows; each line printed with its colours, its plain text measuring it
    archived = history is None
    lines, styled = emulator.history(archived), emulator.styled_history(archived)
    if history is not None:
        lines, styled = (lines[-history:], styled[-history:]) if history else ([], [])
    joined = len(lines) - 1 if emulator.screen_continues_history() else -1
    if len(styled) != len(lines) or any(
            plain_text(shown).rstrip() != line.rstrip()
            for n, (line, shown) in enumerate(zip(lines, styled, strict=True)) if n != joined):
        styled = lines  # the two readings disagree: the text is what counts
    for n, (line, shown) in enumerate(zip(lines, styled, strict=True)):
        # the beginning of a line the screen goes on with: it must wrap onto the screen's first
        # row as it did, so the two stay one line when a resize reflows them (printed as text:
        # its width decides where the screen's first row begins)
        out.append(_fill_last_row(line, cols, _first_char(emulator.row(0))) if n == joined
                   else f"\x1b[0m{shown}\x1b[0m\r\n")
    if modes.alt_screen:
        out.append("\x1b[?1049h\x1b[H\x1b[2J")
    for y in range(rows):
        runs = emulator.row(y)
        if modes.alt_screen:
            out.append(f"\x1b[{y + 1};1H")
        follows = _first_char(emulator.row(y + 1)) if y + 1 < rows else ""
        out.append(_row(runs, cols if y in wrapped else 0, emulator.row_end(y), follows))
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
    if modes.focus_events:
        out.append("\x1b[?1004h")
    if modes.kitty_flags:  # the keys a mirror's pane encodes follow the agent's protocol
        out.append(f"\x1b[={modes.kitty_flags};1u")
    title = "".join(c for c in emulator.title() if c.isprintable())
    if title:
        out.append(f"\x1b]2;{title}\x1b\\")
    return "".join(out).encode()


def _first_char(runs: list[Run]) -> str:
    return runs[0].text[:1] if runs else ""


def _padding(width: int, cols: int, follows: str) -> str:
    """What fills a soft-wrapped row of `width` cells to the last column, so the next character
    wraps as it did — nothing when that character is a wide one the terminal moves to the next
    row by itself (its row then ends one cell short)."""
    gap = cols - width
    if gap <= 0 or (gap == 1 and char_width(follows) == 2):
        return ""
    return " " * gap


def _fill_last_row(text: str, cols: int, follows: str) -> str:
    """`text` with its last row filled to the last column: the screen's first row goes on
    with it, so the next character printed soft-wraps as it did."""
    last = wrap_rows(text, cols)[-1]
    return "\x1b[0m" + text + _padding(sum(char_width(c) for c in last), cols, follows)


def _row(runs: list[Run], fill_to: int, written: int | None = None, follows: str = "") -> str:
    if not fill_to:
        runs = _without_blank_tail(runs, written)
    parts: list[str] = []
    width = 0
    for run in runs:
        if run.style.link:  # an OSC 8 hyperlink around the run
            parts.append(f"\x1b]8;;{run.style.link}\x1b\\{sgr(run.style)}{run.text}"
                         "\x1b]8;;\x1b\\")
        else:
            parts.append(sgr(run.style) + run.text)
        width += sum(char_width(c) for c in run.text)
    if fill_to:  # a soft-wrapped row: the next character must wrap it
        parts.append(_padding(width, fill_to, follows))
    return "".join(parts)


def _without_blank_tail(runs: list[Run], written: int | None) -> list[Run]:
    """The row without the cells after the last one the program wrote (`written` characters;
    None: unknown, then every trailing blank that shows nothing): cells never written are not
    content, and a reflow must not take them as text (narrowed, they would become blank
    rows). A space the program wrote, or one with a background, stays."""
    runs = list(runs)
    length = sum(len(run.text) for run in runs)
    while runs and _invisible(runs[-1].style):
        run = runs[-1]
        keep = len(run.text.rstrip(" "))
        if written is not None:
            keep = max(keep, written - (length - len(run.text)))
        if keep >= len(run.text):
            break
        length -= len(run.text) - max(keep, 0)
        if keep > 0:
            runs[-1] = Run(run.text[:keep], run.style)
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
