"""Codex CLI: its approval overlay and status line.

The overlay asks "Would you like to run the following command?" (the command follows on a line
starting with "$ "), "Would you like to make the following edits?" (the files follow) or grants
other permissions, and lists options with their shortcut keys: "Yes, proceed (y)", "Yes, and don't
ask again … (p)" or "(a)", "No, and tell Codex what to do differently (esc)".

Its questions to the user (request_user_input: "Question 1/3", a numbered list with "›" at the
highlighted option, "tab to add notes | enter to submit answer | esc to interrupt") and its
folder trust dialog ("Trust this folder? …", drawn at the top of the screen) are entries of
kind `other` with their options.

What it is doing is read from the block above its composer ("› Ask Codex to do anything"):
working, that block's first row is its status row, "• Working (12s • esc to interrupt)" (its
header may be a reasoning title instead of "Working"); retrying, "• Server is busy, reconnecting
4/5 (1m 12s • esc to interrupt)" with "└ Exceeded retry limit, last status: 429 …" under it;
after it gave up, "■ exceeded retry limit, last status: 429 Too Many Requests". While an
answer streams it draws no status row: that screen reads idle (the session host's output
timing says more).
"""

from __future__ import annotations

import re
from dataclasses import replace

from agentdeck.core.screen.detect import menus, status
from agentdeck.core.screen.detect.base import (
    IDLE,
    RATE_LIMITED,
    UNKNOWN,
    WAITING,
    WORKING,
    Detection,
    Prompt,
    Screen,
    find_menu,
    signature,
)

# Codex acknowledges an answer in its transcript ("✔ You approved codex to run … this time"),
# inserted above the approval overlay, and may draw that before the overlay is taken down: for
# one frame the answered dialog stands under a new line quoting its own command, which reads as
# the same question asked again. A dialog drawn again after an answer is queued again only if
# it is still there this long after (approvals: REASK_HOLD).
ANSWER_ECHO_HOLD = 0.3

QUESTION_RE = re.compile(r"^(Would you like to (?P<what>run the following command|"
                         r"make the following edits|grant these permissions|allow .+?)\?|"
                         r"Allow command\?)$")
FOOTER_RE = re.compile(r"(press enter|enter to confirm|esc to cancel|^\W*$)", re.I)
# its status row: "• Working (12s • esc to interrupt)", "◦ Planning the fix (1m 03s • esc to
# interrupt)" — the glyph blinks between • and ◦ ("◦" heads nothing else); a narrow screen
# cuts the row short: "• the model is thinking about it (3s • esc to inter…"
STATUS_RE = re.compile(r"^(?:◦\s+\S|[•·]\s+\S.*\(\s*(?:\d+[hms]\s*)+(?:•[^)]*)?(?:\)|…)\s*$|"
                       r"[•·]\s+\S.*\(esc to interrupt\)\s*$)")
QUESTION_HEAD_RE = re.compile(r"^Question (?P<n>\d+)/(?P<of>\d+)\b")
_LABEL_RE = re.compile(r"^(reason|description|environment|justification):", re.IGNORECASE)
IDLE_RE = re.compile(r"(^›\s|^›$|⏎ send|context left|ctx left|\? for shortcuts)")


def detect(screen: Screen) -> Detection:
    prompt = find_prompt(screen) or find_question(screen) or menus.find_select_menu(screen)
    if prompt:
        return Detection(WAITING, prompt)
    at = status.composer(screen)
    live = status.live(screen, (at, at) if at >= 0 else None)
    limit = _limit(live)
    if limit:
        return Detection(RATE_LIMITED, reset=limit.reset, detail=limit.detail)
    if STATUS_RE.match(live.head) or _cut_status(live.head, screen.cols):
        return Detection(WORKING)
    if at >= 0 or any(IDLE_RE.search(line) for line in screen.tail(8)):
        return Detection(IDLE)
    return Detection(UNKNOWN)


def _cut_status(head: str, cols: int | None) -> bool:
    """A status row cut short at the screen's edge before its timer ("• the model is still
    writing its answer, slowly and in small pieces, a…"): Codex wraps a message, it cuts only
    its one-row status."""
    return cols is not None and head.startswith("• ") and head.endswith("…") \
        and len(head) >= cols - 2


def _limit(live: status.Live) -> status.Limit | None:
    """Reconnecting with its status row live is a retry; the same words left without it, with
    "Exceeded retry limit" under them, are a retry that gave up."""
    limit = status.limit_in(live.reports)
    if limit and limit.detail and limit.detail.startswith("retrying") and "esc to interrupt" \
            not in live.head:
        gave_up = status.limit_in([r for r in live.reports if "xceeded retry limit" in r])
        return gave_up or limit
    return limit


def find_question(screen: Screen) -> Prompt | None:
    """Its request_user_input dialog: "Question 1/3 (3 unanswered)", the question, a numbered
    list (label, then its description after a wide gap), and its key hint."""
    head = screen.find_last(QUESTION_HEAD_RE, max(0, screen.last - 40))
    if head < 0:
        return None
    menu = menus.find_select_menu(screen)
    if menu is None:
        return None
    m = QUESTION_HEAD_RE.match(screen.lines[head])
    assert m is not None
    question = next((line for line in screen.lines[head + 1: screen.last] if line), "")
    options = tuple((re.split(r"\s{2,}", label)[0], keys) for label, keys in menu.options)
    return replace(menu, summary=f"{question} (question {m.group('n')}/{m.group('of')})",
                   options=options, agent="codex")


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
