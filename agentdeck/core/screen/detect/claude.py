"""Claude Code: its permission dialogs and status lines.

A dialog is a titled panel ("Bash command", "Edit file", "Create file", "Fetch", "Tool use" for
MCP tools) holding the request, then a question ("Do you want to proceed?", "Do you want to make
this edit to X?", "Do you want to create X?") and a numbered menu whose first option allows once,
an optional "Yes, and don't ask again …" option allows always, and the "No, and tell Claude what to
do differently (esc)" option denies. Number keys pick an option directly.

What it is doing is read from its live rows (status.py): while it works, the row right above
its input box is a spinner — a glyph, a verb with "…", maybe a timer and token counter — and
its footer says "esc to interrupt"; a finished turn leaves "✻ Worked for 3m" there instead.
Retrying a call it draws "✻ API error · retrying in 12s · attempt 2/10" in that row; giving up,
"● API Error: Request rejected (429) · …" above its input box. Idle, it shows its input box.

Claude Code 2.1 draws the Bash request as: title, an optional "Tip: …" line, the command's
description, then the command itself between two dashed rules (╌╌╌), then the question; its
menu may add "Yes, and switch to auto mode", so deny is the last option, not a fixed number.
"""

from __future__ import annotations

import re

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

QUESTION_RE = re.compile(
    r"^(Do you want to (?:proceed|make this edit to (?P<edit>.+?)|create (?P<create>.+?)|"
    r"overwrite (?P<overwrite>.+?)|allow Claude to (?:fetch|use) .+?)\?)$")
TITLES = {"bash command": "bash", "edit file": "edit", "create file": "write",
          "write file": "write", "overwrite file": "write", "fetch": "fetch", "web fetch": "fetch",
          "web search": "fetch", "tool use": "other", "read file": "other",
          "edit notebook": "edit", "notebook edit": "edit"}
FOOTER_RE = re.compile(r"(esc to cancel|tab to (amend|add)|ctrl\+e|shift\+tab|^\W*$)", re.I)
WORKING_RE = re.compile(r"esc to interrupt", re.I)
# its status row while it works: a spinner glyph, a verb with "…", maybe its timer and token
# counter ("✳ Cooking… (12s · ↑ 200 tokens)", "· Kneading… (9m 22s · ↓ 14.1k tokens · thought
# for 36s)", the older "✶ Thinking… (ctrl+c to interrupt · 3m 17s)"); a finished turn's
# "✻ Conjured for 1m 22s" has no "…"
SPINNER_RE = re.compile(r"^[·✢✳✶✻✽*]\s+(?:\S[^…]*(?:…|\.\.\.)\s*(?:\([^)]*\))?(?:\s*·.*)?|"
                        r"\S.*\([^)]*\bto interrupt\b[^)]*\))\s*$")
# the first run's screens: its theme, its security notes (then "Press Enter to continue");
# offline it ends on "Unable to connect to Anthropic services" and exits
THEME_RE = re.compile(r"^Choose the text style\b")
OFFLINE_RE = re.compile(r"^(Unable to connect to Anthropic services|Failed to connect to )")
_DASHED_RE = re.compile(r"^[╌┄┈\-]{8,}$")
_TIP_RE = re.compile(r"^Tip: ")
IDLE_RE = re.compile(r"(\? for shortcuts|^>\s*$|^> |accept edits on|plan mode on|"
                     r"bypass permissions on)")


def detect(screen: Screen) -> Detection:
    prompt = find_prompt(screen) or find_dialog(screen)
    if prompt:
        return Detection(WAITING, prompt)
    box = status.input_box(screen)
    live = status.live(screen, box)
    limit = status.limit_in(live.reports)
    if limit:
        return Detection(RATE_LIMITED, reset=limit.reset, detail=limit.detail)
    if SPINNER_RE.match(live.head) or any(WORKING_RE.search(row) for row in live.footer):
        return Detection(WORKING)
    if box is not None or any(IDLE_RE.search(line) for line in screen.tail(8)):
        return Detection(IDLE)
    if any(OFFLINE_RE.match(line) for line in screen.tail(8)):
        return Detection(IDLE)  # (it exits: nothing runs, nothing waits)
    return Detection(UNKNOWN)


def find_dialog(screen: Screen) -> Prompt | None:
    """Its dialogs that are no permission request — trust this folder, use this API key, the
    first run's theme and notes — as queue entries of kind `other` (DESIGN.md, invariant 5)."""
    theme = screen.find_last(THEME_RE, max(0, screen.last - 40))
    # (agent "generic": read as any program's menu, so a screen of unknown origin read by
    # every detector in turn keeps looking for one a detector knows)
    return (menus.select_menu_below(screen, theme) if theme >= 0 else None
            ) or menus.find_select_menu(screen) or menus.press_enter(screen)


def find_prompt(screen: Screen) -> Prompt | None:
    menu = find_menu(screen, QUESTION_RE, 30, FOOTER_RE)
    if menu is None:
        return None
    q = menu.question
    m = QUESTION_RE.match(screen.lines[q])
    assert m is not None
    title_at, kind = _title(screen, q)
    body = [line for line in screen.lines[title_at + 1: q] if line] if title_at >= 0 else []
    joined = False
    if m.group("edit") or m.group("create") or m.group("overwrite"):
        summary = m.group("edit") or m.group("create") or m.group("overwrite")
        kind = "edit" if m.group("edit") else "write"
        # the panel shows the path; the question only the file name
        summary = next((line for line in body if line.endswith(summary)), summary)
    else:
        boxed = _between_dashed_rules(screen, title_at, q)
        if boxed:
            joined = "\n" in boxed
            summary = boxed.replace("\n", " ")
        elif body:
            summary = _first_line(screen, title_at, q)
            joined = summary not in body
        else:
            summary = screen.lines[q]
    if any(line.endswith("(MCP)") for line in body) or "(MCP)" in summary:
        kind = "mcp"
        summary = summary.removesuffix("(MCP)").strip()
    panel = screen.lines[max(0, title_at): menu.end + 1]
    sig = signature("claude", screen.lines[q], *panel)
    return Prompt(kind=kind, summary=summary, allow=menu.allow, allow_always=menu.allow_always,
                  deny=menu.deny, agent="claude", signature=sig,
                  always_scope=menu.always_scope if menu.allow_always else "",
                  joined=kind == "bash" and joined)


def _title(screen: Screen, q: int) -> tuple[int, str]:
    for i in range(q - 1, max(-1, q - 40), -1):
        kind = TITLES.get(screen.lines[i].lower())
        if kind:
            return i, kind
    return -1, "other"


def _between_dashed_rules(screen: Screen, title_at: int, q: int) -> str:
    """What Claude Code 2.1 draws between ╌ rules: the exact command, whole — a long one
    word-wrapped by Claude over several lines is joined back (the audit log records what was
    approved, not its first line)."""
    rules = [i for i in range(max(0, title_at + 1), q) if _DASHED_RE.match(screen.lines[i])]
    if len(rules) < 2:
        return ""
    inside = [screen.lines[i] for i in range(rules[0] + 1, rules[1]) if screen.lines[i]]
    return "\n".join(inside)  # (the caller joins them with blanks, and notes it did)


def _first_line(screen: Screen, title_at: int, q: int) -> str:
    """The request's first line, joined with its continuation when the panel wrapped it."""
    lines = [i for i in range(title_at + 1, q) if screen.lines[i]
             and not _TIP_RE.match(screen.lines[i])]
    first = screen.lines[lines[0]]
    if len(lines) > 1 and _reaches_edge(screen, lines[0]):
        first += screen.lines[lines[1]]
    return first


def _reaches_edge(screen: Screen, i: int) -> bool:
    raw = screen.raw[i].rstrip()
    if raw.endswith("│"):
        return len(raw[:-1].rstrip()) >= len(raw) - 2
    # the terminal's width when known: the widest row of the screen is no edge when it is the
    # request itself (a long command ended short of the edge was joined with the line under it)
    width = screen.cols or max((len(line) for line in screen.raw), default=80)
    return len(raw) >= width - 1
