"""Codex CLI: its approval overlay and status line.

The overlay asks "Would you like to run the following command?" (the command follows on a line
starting with "$ "), "Would you like to make the following edits?" (the files follow) or grants
other permissions, and lists options with their shortcut keys: "Yes, proceed (y)", "Yes, and don't
ask again … (p)" or "(a)", "No, and tell Codex what to do differently (esc)". While it works, the
status line reads "Working (12s • esc to interrupt)".
"""

from __future__ import annotations

import re

from agentdeck.core.detect.base import (
    Detection,
    Prompt,
    Screen,
    detect_with,
    find_menu,
    signature,
)

QUESTION_RE = re.compile(r"^(Would you like to (?P<what>run the following command|"
                         r"make the following edits|grant these permissions|allow .+?)\?|"
                         r"Allow command\?)$")
FOOTER_RE = re.compile(r"(press enter|enter to confirm|esc to cancel|^\W*$)", re.I)
WORKING_RE = re.compile(r"esc to interrupt", re.I)
_LABEL_RE = re.compile(r"^(reason|description|environment|justification):", re.IGNORECASE)
IDLE_RE = re.compile(r"(^›\s|^›$|⏎ send|context left|ctx left|\? for shortcuts)")


def detect(screen: Screen) -> Detection:
    return detect_with(screen, find_prompt, WORKING_RE, IDLE_RE)


def find_prompt(screen: Screen) -> Prompt | None:
    menu = find_menu(screen, QUESTION_RE, 40, FOOTER_RE, prefer_shortcuts=True)
    if menu is None:
        return None
    q = menu.question
    m = QUESTION_RE.match(screen.lines[q])
    assert m is not None
    what = m.group("what") or ""
    body = [line for line in screen.lines[q + 1: menu.options[0].line] if line]
    kind, summary, joined = "other", screen.lines[q], False
    if what.startswith("run"):
        kind = "bash"
        command = _command(screen, q, menu.options[0].line)
        joined = "\n" in command  # Codex wrapped it, or it has several lines: unknown which
        summary = command.replace("\n", " ") or (body[-1] if body else summary)
    elif what.startswith("make"):
        kind = "edit"
        # the files with their +/- counts, not the dialog's "Reason:"/"Description:" lines
        files = [line for line in body if not _LABEL_RE.match(line)]
        summary = ", ".join(files) if files else summary
    sig = signature("codex", *screen.lines[q: menu.end + 1])
    return Prompt(kind=kind, summary=summary, allow=menu.allow, allow_always=menu.allow_always,
                  deny=menu.deny, agent="codex", signature=sig,
                  always_scope=menu.always_scope if menu.allow_always else "", joined=joined)


def _command(screen: Screen, start: int, end: int) -> str:
    """The command after "$ ": Codex word-wraps a long one onto the following lines itself,
    so its continuation runs up to the next blank line."""
    for i in range(start + 1, end):
        if screen.lines[i].startswith("$"):
            parts = [screen.lines[i][1:].strip()]
            for line in screen.lines[i + 1: end]:
                if not line:
                    break
                parts.append(line)
            return "\n".join(parts)  # (the caller joins them with blanks, and notes it did)
    return ""
