"""opencode and Kilo Code CLI (a fork of it): the permission panel and the prompt's status row.

The panel reads "△ Permission required", a title line ("# Shell command" — Kilo shows the
command's description there —, "→ Edit src/app.py", "⚙ Call tool …"), the request ("$ <command>",
or a diff), and one row of options: "Allow once   Allow always   Reject", chosen with ←/→ and
Enter ("Allow once" highlighted at first). "Allow always" asks to confirm ("Confirm" first).
Esc rejects in opencode; in Kilo it opens "Tell Kilo what to do differently", and Enter sends
the rejection with no message. Its questions to the user (the question tool, and Kilo's own
"Do you want to disable Snapshots for this repository?" when a large repository's snapshot is
slow) are a panel of numbered options, each with its description under it, over the key hint
"↑↓ select  enter submit  esc dismiss": a digit picks its option, Esc dismisses.
While it works, the prompt's status row ends in "esc interrupt"
("esc again to interrupt" after one Esc); idle, its input says "Ask anything…".
"""

from __future__ import annotations

import re

from agentdeck.core.screen.detect.base import (
    ESC,
    IDLE,
    UNKNOWN,
    WORKING,
    Detection,
    Prompt,
    Screen,
    detect_with,
    nothing_below,
    signature,
)
from agentdeck.core.screen.detect.menus import STEP, paragraphs_above

HEAD_RE = re.compile(r"^△\s*Permission required\b")
OPTIONS_RE = re.compile(r"Allow once\s+Allow always\s+Reject\b|Allow\s+Reject\b")
TITLE_RE = re.compile(r"^(?:[^\w\s]\s+)?(?P<title>\S.*)$")  # after its icon: # → ⚙ …
FOOTER_RE = re.compile(r"(enter confirm|select|fullscreen|ctrl\+f|^\W*$)", re.I)
WORKING_RE = re.compile(r"\besc (again to )?interrupt\b", re.I)
IDLE_RE = re.compile(r"(Ask anything|ctrl\+p commands|tab agents)", re.I)
RIGHT, ENTER = "\x1b[C", "\r"


# Kilo's own marks, for a screen whose program is not known (`agentdeck detect`, a shell): its
# default agent is "Code" (opencode's "Build"), its idle input reads "Ask anything..."
KILO_RE = re.compile(r"^▣\s+Code\b|^Code\s+·|Ask anything\.\.\.|\bKilo\b")


# wider than this, the session's sidebar (context, cost, LSP, the folder) takes the right-hand
# SIDEBAR columns of every row, beside the panel (its TUI: `width > 120`, sidebar 42 wide)
SIDEBAR_FROM, SIDEBAR = 120, 42


# a reply that has not begun: "█ Thinking..." as the conversation's last row, above the
# input panel, its footer saying nothing of work yet
THINKING_RE = re.compile(r"^█\s+Thinking(?:\.\.\.|…)$")


def detector(agent: str | None):
    """opencode's or Kilo's detector; with None, either, told apart by the screen."""
    def detect(screen: Screen) -> Detection:
        main = without_sidebar(screen)
        found = detect_with(main, lambda s: find_prompt(s, agent) or find_question(s, agent),
                            _NEVER, IDLE_RE)
        if found.state in (IDLE, UNKNOWN) and (_footer_busy(main) or THINKING_RE.match(
                _last_above_panel(main))):
            return Detection(WORKING)
        return found
    return detect


_NEVER = re.compile(r"(?!)")  # (its status is read from its footer alone: _footer_busy)


def _footer_busy(screen: Screen) -> bool:
    """Its footer, under the input panel ("╹▀▀▀"), says "esc interrupt" (its spinner first):
    the words in the conversation are not work. Without the panel (a partial screen), the last
    rows."""
    bottom = next((i for i in range(screen.last, max(-1, screen.last - 6), -1)
                   if screen.lines[i].startswith("╹")), screen.last - 2)
    return any(WORKING_RE.search(line) for line in screen.lines[bottom + 1: screen.last + 1])


def _last_above_panel(screen: Screen) -> str:
    """The conversation's last row: the first one holding text above the input panel (its "┃"
    rows, closed by "╹▀▀▀")."""
    bottom = next((i for i in range(screen.last, max(-1, screen.last - 6), -1)
                   if screen.lines[i].startswith("╹")), -1)
    if bottom < 0:
        return ""
    top = bottom
    while top > 0 and screen.raw[top - 1].lstrip().startswith("┃"):
        top -= 1
    return next((screen.lines[i] for i in range(top - 1, max(-1, top - 40), -1)
                 if screen.lines[i]), "")


def without_sidebar(screen: Screen) -> Screen:
    """The conversation's column alone: the sidebar's text would otherwise read as part of the
    panel's rows and as lines below its options (a 126-column pane's prompt went unseen)."""
    if not screen.cols or screen.cols <= SIDEBAR_FROM:
        return screen
    cut = screen.cols - SIDEBAR
    return Screen([row[:cut] for row in screen.raw], screen.cursor_row)


def find_prompt(screen: Screen, agent: str | None = "opencode") -> Prompt | None:
    head = screen.find_last(HEAD_RE, max(0, screen.last - 60))
    if head < 0:
        return None
    row = next((i for i in range(head + 1, screen.last + 1)
                if OPTIONS_RE.search(screen.lines[i])), -1)
    if row < 0 or not nothing_below(screen, row, FOOTER_RE):
        return None
    body = [line for line in screen.lines[head + 1: row] if line]
    kind, summary = "other", body[0] if body else "permission required"
    command = _command(screen.lines[head + 1: row])
    m = TITLE_RE.match(body[0]) if body else None
    title = m.group("title") if m else ""
    if command is not None:
        kind, summary = "bash", command
    elif re.match(r"(Edit|Write|Patch)\b", title):
        path = title.split(None, 1)[1] if " " in title else title
        # a new file's write asks as an edit; the tool's line above the panel says "← Write"
        writes = any(line == f"← Write {path}" for line in screen.lines[max(0, head - 30):head])
        kind, summary = "write" if writes else "edit", path
    elif re.match(r"(WebFetch|Web fetch)\b", title):
        kind, summary = "fetch", title
    elif re.match(r"Call tool\b", title):
        kind, summary = "mcp", title
    elif title:
        summary = title
    if agent is None:
        agent = "kilo" if any(KILO_RE.search(line) for line in screen.lines) else "opencode"
    always = "Allow always" in screen.lines[row]
    # Kilo: Esc opens a box for what to do instead; Enter sends the rejection as it is
    # (the option row shows its highlight only in colour: "Allow once" is highlighted when the
    # panel opens; each key goes once the screen showed the one before, see menus.STEP)
    deny = ESC + STEP + ENTER if agent == "kilo" else ESC
    return Prompt(kind=kind, summary=summary, allow=ENTER,
                  allow_always=STEP.join((RIGHT, ENTER, ENTER)) if always else None, deny=deny,
                  agent=agent, signature=signature(agent, *screen.lines[head: row + 1]))


QUESTION_HINT_RE = re.compile(r"\besc dismiss\b")
QUESTION_OPTION_RE = re.compile(r"^(?P<num>[1-9])\.\s+(?P<text>\S.*)$")


def find_question(screen: Screen, agent: str | None = "opencode") -> Prompt | None:
    """Its question panel: the key hint in the last rows, numbered options above it (options'
    descriptions between them), the question above the first. Kind `other`, a digit per
    option (a digit picks its option and answers: no highlight to move), Esc to dismiss."""
    hint = next((i for i in range(screen.last, max(-1, screen.last - 4), -1)
                 if QUESTION_HINT_RE.search(screen.lines[i])), -1)
    if hint < 0:
        return None
    found: list[tuple[int, int, str]] = []  # (number, row, label), from the last option up
    for i in range(hint - 1, max(-1, hint - 40), -1):
        m = QUESTION_OPTION_RE.match(screen.lines[i])
        if m is None:
            continue
        number = int(m.group("num"))
        if found and number != found[-1][0] - 1:
            return None  # numbered lines out of sequence: not one list of options
        found.append((number, i, m.group("text")))
        if number == 1:
            break
    if not found or found[-1][0] != 1:
        return None
    found.reverse()
    first = found[0][1]
    if agent is None:
        agent = "kilo" if any(KILO_RE.search(line) for line in screen.lines) else "opencode"
    return Prompt(kind="other", summary=_question_above(screen, first) or "a question",
                  allow="", deny=ESC, agent=agent,
                  options=tuple((label, str(number)) for number, _, label in found),
                  signature=signature(agent, "question", *screen.lines[first - 1: hint + 1]))


def _question_above(screen: Screen, first: int) -> str:
    """The paragraph nearest above row `first` that asks (holds a "?"), else the nearest
    paragraph: its rows joined."""
    paragraphs = paragraphs_above(screen, first, 16,
                                  lambda line: bool(HEAD_RE.match(line))
                                  or set(line) <= set("─━═▀▄"))
    texts = [" ".join(p) for p in paragraphs if p]
    return next((t for t in texts if "?" in t), texts[0] if texts else "")


def _command(lines: list[str]) -> str | None:
    """The command after "$ ", with the lines the panel wrapped it onto (up to a blank)."""
    for i, line in enumerate(lines):
        if line.startswith("$ "):
            parts = [line[2:].strip()]
            for more in lines[i + 1:]:
                if not more:
                    break
                parts.append(more)
            return " ".join(parts)
    return None
