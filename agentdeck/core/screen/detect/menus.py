"""Selection menus of any program: a cursor glyph (❯ › > ▶ …) beside one of a block of options,
numbered or not, under a question — at the bottom of the screen, or anywhere above a key hint
("enter continue · esc back"): Codex draws its trust dialog at the top of a tall, otherwise
empty screen.

Every dialog that waits for the user must at least be a queue entry (DESIGN.md, invariant 5):
a trust-this-folder question, an API-key confirmation, a "where should this run" menu that no
detector knows. This is the fallback that makes them one — kind `other`, the question as its
summary, a key sequence per option. Options are reached the way the cursor says they are: arrow
keys from the highlighted one, then Enter (each key its own write, see STEP), since a
highlighted menu may not take digits. The summary names what the dialog is about when the
dialog shows it: the folder it asks to trust, the key (its variable and shown tail) it asks to
use. A screen that only says "Press Enter to continue" waits too: one option, Enter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agentdeck.core.screen.detect.base import Option, Prompt, Screen, clean, menu_keys, signature

STEP = "\x00"  # in an answer's keys: write what comes before, let the screen change, go on
UP, DOWN, ENTER = "\x1b[A", "\x1b[B", "\r"
_MARKS = "❯›>▶►→●◉"
# (a ✔ after the cursor marks the current choice, as Claude's theme picker does)
_OPTION = re.compile(r"^(?P<indent>\s*)(?P<mark>[" + _MARKS + r"])?(?P<gap>\s*)(?:[✔✓]\s+)?"
                     r"(?:(?P<num>\d{1,2})[.)]\s+)?(?P<text>\S.*?)\s*$")
# a menu's key hint: "Enter to confirm · Esc to cancel", "enter continue · esc back", "tab to
# add notes | enter to submit answer | esc to interrupt", "↑/↓ to navigate"
_FOOTER = re.compile(r"(enter to (confirm|select)|esc to (cancel|exit|go back)|↑/↓|"
                     r"arrow keys|to navigate|tab to|"
                     r"\benter\b (?:to )?(?:continue|confirm|select|submit)\b|"
                     r"\besc\b (?:to )?(?:back|cancel|exit)\b)", re.IGNORECASE)
# one of these is in every text _FOOTER matches (lower case)
_FOOTER_WORDS = ("enter", "esc", "↑/↓", "arrow keys", "navigate", "tab to")
_QUESTION = re.compile(r"[^?]*\?")
_INPUT = re.compile(r"^[❯>›]( |$)")
# what a dialog is about, as it shows it: a folder, a key ("ANTHROPIC_API_KEY: sk-ant-...4f2")
_SUBJECT = re.compile(r"^(?:(?:/|~/)\S*|[A-Z][A-Z0-9_]*(?:KEY|TOKEN)\b:\s*\S.*)$")
_PRESS_ENTER = re.compile(r"^(?:Press|Hit) (?:Enter|Return) to continue\b", re.IGNORECASE)
_ART = re.compile(r"[░▒▓█▀▄▐▌▛▜▝▘▟▙]|^\.{5,}")
WINDOW = 16  # how far above the bottom a menu may start


def find_select_menu(screen: Screen) -> Prompt | None:
    """The menu at the bottom of the screen (under its key hint, if any); else one above a key
    hint anywhere on a screen that shows no input box below it (a dialog drawn at the top).
    Read once per screen: a kind known only as a command is read by every detector in turn,
    and several of them ask for it (it was 39 % of the session host's time)."""
    if not screen._menu:
        screen._menu.append(_find_select_menu(screen))
    return screen._menu[0]


def _find_select_menu(screen: Screen) -> Prompt | None:
    if screen.last < 0:
        return None
    bottom = _above_hints(screen, screen.last)
    if screen.last - bottom <= 4:
        found = menu_ending_at(screen, bottom)
        if found:
            return found
    text = "\n".join(screen.lines[:screen.last]).lower()
    if not any(word in text for word in _FOOTER_WORDS):
        return None  # no key hint anywhere (a substring test, where the pattern row by row
        # took most of a streaming screen's detection)
    for hint in range(screen.last - 1, -1, -1):
        line = screen.lines[hint]
        if _INPUT.match(line):
            return None  # an input box below: whatever is above is the conversation
        if line and _FOOTER.search(line) and not _FOOTER.search(screen.lines[hint + 1]):
            found = menu_ending_at(screen, _above_hints(screen, hint))
            if found:
                return found
    return None


def _above_hints(screen: Screen, row: int) -> int:
    """The last row above the key hints (and the blanks around them) that end at `row`."""
    bottom = row
    while bottom > 0 and _FOOTER.search(screen.lines[bottom]):
        bottom -= 1  # "Enter to confirm · Esc to cancel" under the menu
        while bottom > 0 and not screen.lines[bottom]:
            bottom -= 1
    return bottom


def menu_ending_at(screen: Screen, bottom: int) -> Prompt | None:
    block = _option_block(screen, bottom)
    if block is None:
        return None
    first, options, selected = block
    question = _question(screen, first)
    return _prompt(screen, question, first, options, selected) if question else None


def select_menu_below(screen: Screen, row: int, reach: int = 12) -> Prompt | None:
    """The cursor menu that starts under row `row` (its instruction: "Choose the text style
    …"), whatever is drawn under the menu (a preview)."""
    marked = next((i for i in range(row + 1, min(screen.last + 1, row + reach))
                   if (m := _OPTION.match(screen.raw[i].rstrip())) and m.group("mark")), -1)
    if marked < 0:
        return None
    end = marked
    while end + 1 <= screen.last and screen.raw[end + 1].strip():
        end += 1
    block = _option_block(screen, end)
    if block is None:
        return None
    first, options, selected = block
    return _prompt(screen, screen.lines[row], first, options, selected)


def press_enter(screen: Screen) -> Prompt | None:
    """A screen that waits on "Press Enter to continue" (Claude's first-run notes): one option,
    Enter; the summary is the notes' title."""
    if screen.last < 0 or not _PRESS_ENTER.match(screen.lines[screen.last]):
        return None
    title, heading, blanks = "", "", 0
    for i in range(screen.last - 1, max(-1, screen.last - 24), -1):
        line = screen.lines[i]
        if _ART.search(line) or blanks > 2:
            break
        blanks = 0 if line else blanks + 1
        if line:
            title = line
            heading = line if line.endswith(":") else heading  # ("Security notes:")
    title = heading or title
    hint = screen.lines[screen.last]
    summary = f"{title.rstrip(':')}: {hint}" if title else hint
    return Prompt(kind="other", summary=summary, allow=ENTER, deny="", agent="generic",
                  signature=signature("enter", summary, str(screen.last)),
                  options=(("Continue", ENTER),))


def _prompt(screen: Screen, question: str, first: int, options: list[str],
            selected: int) -> Prompt:
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
    subject = _subject(screen, first, question)
    summary = f"{question} — {subject}" if subject else question
    return Prompt(kind="other", summary=summary, allow=allow, deny=deny, allow_always=always,
                  agent="generic", signature=signature("menu", question, *rows),
                  options=tuple(zip(options, keys, strict=True)))


def _subject(screen: Screen, first: int, question: str) -> str:
    """The folder or key the dialog above row `first` shows on a line of its own, unless its
    question says it already."""
    for i in range(first - 1, max(-1, first - 16), -1):
        line = clean(screen.lines[i])
        if set(line) <= set("─━═-╌") and line:
            break  # the dialog's top rule
        if _SUBJECT.match(line) and line not in question:
            return line
    return ""


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


def paragraphs_above(screen: Screen, first: int, reach: int,
                     top: Callable[[str], bool]) -> list[list[str]]:
    """The paragraphs (runs of rows between blank ones) above row `first`, nearest first,
    within `reach` rows and below the row `top` says is the dialog's top (its rule)."""
    paragraphs: list[list[str]] = [[]]
    for i in range(first - 1, max(-1, first - reach), -1):
        line = screen.lines[i]
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        if top(line):
            break
        paragraphs[-1].insert(0, line)
    return [p for p in paragraphs if p] or [[]]


def _question(screen: Screen, first: int) -> str:
    """The question the menu answers: the nearest paragraph above holding a "?", cut after it
    ("Quick safety check: Is this a project you created or one you trust?"); else the nearest
    line above (an instruction such as "Select a model")."""
    paragraphs = paragraphs_above(screen, first, 14, lambda line: set(line) <= set("─━═-╌"))
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
