"""Which rows of an agent's screen a pane shorter than that screen shows.

The rows that matter are the ones holding content: the question a prompt asks, the input box,
the cursor. Most programs draw them at the bottom of what they have drawn, so the pane shows
the rows ending with the last one holding text. But a program may draw a dialog at the top of
an otherwise empty tall screen (Codex's trust dialog) with nothing below it but a parked cursor
or a one-line footer: showing the bottom rows there shows a blank pane. So the screen is read
as parts of text separated by blank stretches, and the pane shows the part that holds the
cursor, else the last part — unless that one is a lone line or two (a footer's key hints) below
a larger part.
"""

from __future__ import annotations

from collections.abc import Sequence

# a blank stretch at least this share of the pane's height separates two parts of the screen
GAP_SHARE = 0.5
LONE = 2  # a last part with at most this many rows of text gives way to a larger part above


def viewport_top(lines: Sequence[str], height: int, cursor: int | None = None) -> int:
    """The screen row a pane `height` rows tall starts at, for a screen of `lines` (its rows'
    text); `cursor`: the cursor's row where the program shows a cursor, else None."""
    rows = len(lines)
    if height <= 0 or height >= rows:
        return 0
    text = [y for y, line in enumerate(lines) if line.strip()]
    if not text:  # nothing drawn: the cursor, if any, else the top
        return 0 if cursor is None else max(0, min(cursor + 1, rows) - height)
    gap = max(2, int(height * GAP_SHARE))
    parts: list[list[int]] = [[text[0]]]
    for y in text[1:]:
        if y - parts[-1][-1] > gap:
            parts.append([y])
        else:
            parts[-1].append(y)
    # the cursor's part: the one it sits in or next to (a cursor parked far from any text, on
    # an empty stretch, says nothing about where the content is)
    mine = None if cursor is None else next(
        (part for part in parts if part[0] - gap <= cursor <= part[-1] + gap), None)
    chosen = mine or parts[-1]
    if mine is None and len(chosen) <= LONE:
        larger = max(reversed(parts), key=len)  # (the lowest of equals)
        if len(larger) > len(chosen):
            chosen = larger
    bottom = chosen[-1] + 1
    if mine is not None and cursor is not None:
        bottom = max(bottom, cursor + 1)
    top = max(0, bottom - height)
    if mine is not None and cursor is not None and cursor < top:
        top = cursor  # a part taller than the pane: the cursor's row stays in view
    return min(top, rows - height)


def pane_view(lines: Sequence[str], rows: int, cols: int, height: int, width: int,
              cursor: int | None, back_extra: int | None) -> tuple[int, bool]:
    """Which row of the agent's screen (`rows` x `cols`, its `lines`) a pane `height` x `width`
    starts at, and whether text is cut at its right edge. A pane smaller than the agent's
    terminal (a grid cell, a phone) shows the rows holding its content — the prompt, the input
    box, the cursor (row `cursor`, when shown); scrolled back (`back_extra` rows beyond the
    screen), the viewport's bottom or above."""
    if not height or (height >= rows and width >= cols):
        return 0, False
    if height >= rows:
        top = 0
    elif back_extra is not None:
        top = max(0, rows - height - back_extra)
    else:
        top = viewport_top(lines, height, cursor)
    return top, any(len(line) > width for line in lines[top: top + height])


def cut_note(cols: int, rows: int, top: int, height: int, wide: bool) -> str:
    """What a pane showing rows top..top+height of a cols x rows screen leaves out, for its
    border ("" when it shows it all)."""
    hidden = []
    below = rows - top - height if height else 0
    for count, where in ((top, "↑{} above"), (below, "↓{} below")):
        if count > 0:
            hidden.append(where.format(f"{count} row{'s' * (count != 1)}"))
    if wide:
        hidden.append("› text cut at the right")
    return f"{cols}×{rows}: {', '.join(hidden)} · z shows all" if hidden else ""
