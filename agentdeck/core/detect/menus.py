"""Selection menus of any program: a cursor glyph (❯ › > ▶ …) beside one of a block of options,
numbered or not, near the bottom of the screen, under a question.

Every dialog that waits for the user must at least be a queue entry (DESIGN.md, invariant 5):
a trust-this-folder question, an API-key confirmation, a "where should this run" menu that no
detector knows. This is the fallback that makes them one — kind `other`, the question as its
summary, a key sequence per option. Options are reached the way the cursor says they are: arrow
keys from the highlighted one, then Enter (each key its own write, see STEP), since a
highlighted menu may not take digits.
"""

from __future__ import annotations

import re

from agentdeck.core.detect.base import Option, Prompt, Screen, menu_keys, signature

STEP = "\x00"  # in an answer's keys: write what comes before, let the screen change, go on
UP, DOWN, ENTER = "\x1b[A", "\x1b[B", "\r"
_MARKS = "❯›>▶►→●◉"
_OPTION = re.compile(r"^(?P<indent>\s*)(?P<mark>[" + _MARKS + r"])?(?P<gap>\s*)"
                     r"(?:(?P<num>\d{1,2})[.)]\s+)?(?P<text>\S.*?)\s*$")
_FOOTER = re.compile(r"(enter to (confirm|select)|esc to (cancel|exit|go back)|↑/↓|"
                     r"arrow keys|to navigate|tab to)", re.IGNORECASE)
_QUESTION = re.compile(r"[^?]*\?")
WINDOW = 16  # how far above the bottom a menu may start


def find_select_menu(screen: Screen) -> Prompt | None:
    if screen.last < 0:
        return None
    bottom = screen.last
    while bottom > 0 and _FOOTER.search(screen.lines[bottom]):
        bottom -= 1  # "Enter to confirm · Esc to cancel" under the menu
        while bottom > 0 and not screen.lines[bottom]:
            bottom -= 1
    if screen.last - bottom > 4:
        return None
    block = _option_block(screen, bottom)
    if block is None:
        return None
    first, options, selected = block
    question = _question(screen, first)
    if not question:
        return None
    keys = [_keys_to(selected, i) for i in range(len(options))]
    as_options = [Option(str(i + 1), text, i == selected, first + i)
                  for i, text in enumerate(options)]
    meaning = menu_keys(as_options, prefer_shortcuts=False)
    allow = deny = ""
    always = None
    if meaning is not None:
        index = {o.number: i for i, o in enumerate(as_options)}
        allow, always_number, deny = meaning
        allow, deny = keys[index[allow]], keys[index[deny]]
        always = keys[index[always_number]] if always_number else None
    rows = screen.lines[first: first + len(options)]
    return Prompt(kind="other", summary=question, allow=allow, deny=deny, allow_always=always,
                  agent="generic", signature=signature("menu", question, *rows),
                  options=tuple(zip(options, keys, strict=True)))


def _option_block(screen: Screen, bottom: int) -> tuple[int, list[str], int] | None:
    """The options ending at line `bottom`: consecutive lines whose text starts in one column,
    one of them marked by the cursor glyph (its mark standing where the others have blanks)."""
    rows: list[tuple[int, re.Match[str]]] = []
    for i in range(bottom, max(-1, bottom - WINDOW), -1):
        raw = screen.raw[i].rstrip()
        m = _OPTION.match(raw)
        if not raw.strip() or m is None:
            break
        rows.insert(0, (i, m))
    # keep the longest run, from the bottom up, whose text starts in the marked row's column
    marked = [(i, m) for i, m in rows if m.group("mark")]
    if len(marked) != 1:
        return None
    mark_line, mark = marked[0]
    column = mark.start("text")
    block = [(i, m) for i, m in rows if m.start("text") == column]
    lines = [i for i, _ in block]
    if len(block) < 2 or lines != list(range(lines[0], lines[-1] + 1)) or lines[-1] != bottom:
        return None
    texts = [m.group("text") for _, m in block]
    numbers = [m.group("num") for _, m in block]
    if any(numbers) and numbers != [str(n + 1) for n in range(len(numbers))]:
        return None
    if len(texts) > 9 or any(len(t) > 120 for t in texts):
        return None
    return lines[0], texts, lines.index(mark_line)


def _question(screen: Screen, first: int) -> str:
    """The question the menu answers: the nearest paragraph above holding a "?", cut after it
    ("Quick safety check: Is this a project you created or one you trust?"); else the nearest
    line above (an instruction such as "Select a model")."""
    paragraphs: list[list[str]] = [[]]
    for i in range(first - 1, max(-1, first - 14), -1):
        line = screen.lines[i]
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        if set(line) <= set("─━═-╌"):
            break  # the dialog's top rule
        paragraphs[-1].insert(0, line)
    for paragraph in paragraphs:
        # (an Inquirer-style prompt marks its question with a leading "?", or ◆ / ◇)
        text = re.sub(r"^[?◆◇]\s+", "", " ".join(paragraph))
        m = _QUESTION.match(text)
        if m and "?" in text:
            return " ".join(m.group(0).split())
    nearest = next((p for p in paragraphs if p), [])
    return " ".join(" ".join(nearest).split())[:200]


def _keys_to(selected: int, target: int) -> str:
    moves = [DOWN if target > selected else UP] * abs(target - selected)
    return STEP.join([*moves, ENTER])
