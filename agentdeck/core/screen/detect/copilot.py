"""GitHub Copilot CLI: its boxed permission dialogs and status line.

A dialog is a rounded box: a title (the tool's intention, e.g. "Run the scripted command", or
"Create file", "Confirm folder trust"), a rule, the request in an inner box (the command, a
diff, a path), then the question — "Do you want to run this command?", "Do you want to create
notes.txt?", "Do you want to edit …?", "Do you want to allow this?", "Do you trust the files in
this folder?" — and a numbered list: "❯ 1. Yes", sometimes "2. Yes, and approve `touch` for the
rest of the running session", last "No, and tell Copilot what to do differently (Esc to stop)".
Choosing that last option by number opens a text field; Esc rejects at once. While it works,
the status line ends in "(Esc to cancel)".
"""

from __future__ import annotations

import re

from agentdeck.core.screen.detect.base import (
    ESC,
    Detection,
    Prompt,
    Screen,
    clean,
    detect_with,
    menu_keys,
    nothing_below,
    options_after,
    signature,
)

QUESTION_RE = re.compile(r"^(Do you want to (?P<what>run this command|create|edit|update|"
                         r"delete|allow this|[a-z]+)\b.*\?|Do you trust the files in this "
                         r"folder\?)$")
QUESTION_START_RE = re.compile(r"^Do you (want to|trust the files)\b")
FOOTER_RE = re.compile(r"(to navigate|enter to select|esc to cancel|^\W*$)", re.I)
# "◉ Working (Esc to cancel)"; while it retries a failed call "◉ Working esc interrupt"; its
# footer under the input box: "○ Working esc esc interrupt" — a row its status glyph begins
# (the same words quoted in a reply are not work)
WORKING_RE = re.compile(r"^[◉◎○●◐◓◑◒∙·]\s+(?:(Working|Executing|Thinking|Cancelling)\b|"
                        r"\S.*(\(Esc to cancel\)|\besc interrupt\b))", re.I)
IDLE_RE = re.compile(r"(Type @ to mention files|shift\+tab switch mode|ctrl\+q enqueue|"
                     r"^❯\s*$)", re.I)
_INNER_EDGE = re.compile(r"^[╭╰┌└][─━]*[╮╯┐┘]?$|^[─━]+$")


def detect(screen: Screen) -> Detection:
    return detect_with(screen, find_prompt, WORKING_RE, IDLE_RE)


def _question(screen: Screen) -> tuple[int, int, str] | None:
    """(first line, last line, text) of the last question near the bottom: Copilot wraps a
    long one (a file's whole path) onto the next lines itself, inside its box."""
    for i in range(screen.last, max(-1, screen.last - 60), -1):
        if not QUESTION_START_RE.match(screen.lines[i]):
            continue
        text = screen.lines[i]
        for end in range(i, min(i + 4, screen.last + 1)):
            if end > i:  # a path broken mid-way joins as it was; words with a space
                text += ("" if "/" in text.rsplit(" ", 1)[-1] else " ") + screen.lines[end]
            if text.endswith("?"):
                return i, end, text
        return None
    return None


def find_prompt(screen: Screen) -> Prompt | None:
    found = _question(screen)
    if found is None:
        return None
    q, q_end, question = found
    options = options_after(screen, q_end)
    keys = menu_keys(options, False) if options else None
    m = QUESTION_RE.match(question)
    if keys is None or m is None or not nothing_below(screen, options[-1].line, FOOTER_RE):
        return None
    after = screen.lines[options[-1].line + 1: options[-1].line + 4]
    if not any("to navigate" in line for line in after):  # its footer (Claude asks alike)
        return None
    allow, always, _ = keys
    what = m.group("what") or ""
    # the box's inside, from its title down to the question: the title, a rule, the request
    top = next((i for i in range(q - 1, max(-1, q - 40), -1)
                if screen.raw[i].lstrip().startswith("╭") and "│" not in screen.lines[i]), q)
    inside = [clean(line) for line in screen.lines[top + 1: q]]
    request = [line for line in inside[1:] if line and not _INNER_EDGE.match(line)]
    title = inside[0] if inside else ""
    if what == "run this command":
        kind, summary = "bash", " ".join(request)
    elif what in ("create", "edit", "update", "delete"):
        kind = "write" if what == "create" else "edit"
        summary = question[len(f"Do you want to {what} "):].rstrip("?").strip()
    else:
        kind, summary = "other", question if not title else f"{title}: {question}"
    sig = signature("copilot", *screen.lines[top: options[-1].line + 1])
    # the last option's number opens a text field for what to do instead: Esc rejects
    return Prompt(kind=kind, summary=summary or title, allow=allow, allow_always=always,
                  deny=ESC, agent="copilot", signature=sig)
