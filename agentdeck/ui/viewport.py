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
