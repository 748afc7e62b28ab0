"""Gemini CLI: its boxed tool confirmations and status line.

The box starts with "? <Tool> <subject>" (Shell, Edit, WriteFile, WebFetch, or an MCP tool),
shows the request, then asks "Allow execution of: '<cmd>'?", "Apply this change?", "Allow
execution of MCP tool …?" or "Do you want to proceed?", with a radio list: "1. Allow once",
"2. Allow for this session" (or "Allow always"), "… No, suggest changes (esc)". Number keys pick an
option. While it works, the status line reads "… (esc to cancel, 3s)"; idle, the input box
says "Type your message".
"""

from __future__ import annotations

import re

from agentdeck.core.screen.detect.base import (
    Detection,
    Prompt,
    Screen,
    detect_with,
    find_menu,
    signature,
)

QUESTION_RE = re.compile(r"^(Allow execution of(?: MCP tool)?\b.*\?|Apply this change\?|"
                         r"Do you want to proceed\?|Allow execution\?)$")
TITLE_RE = re.compile(r"^[?⊷✦]\s+(?P<tool>[A-Za-z_]\w*)\s*(?P<rest>.*)$")
TOOLS = {"shell": "bash", "edit": "edit", "replace": "edit", "writefile": "write",
         "write_file": "write", "webfetch": "fetch", "web_fetch": "fetch", "googlesearch": "fetch",
         "run_shell_command": "bash"}
# below the box: its status line, and for a moment (a frame drawn in pieces) the input box and
# Qwen's status rows ("➜ wt · git:(main) · model", "⏸ Ask permissions (shift + tab to cycle)")
FOOTER_RE = re.compile(r"(^\W*$|waiting for user confirmation|context left|sandbox|esc to cancel|"
                       r"Type your message|^>\s|^➜ |^⏸ |shift \+ tab to cycle|"
                       # its spinner's status line, maybe drawn only in part yet
                       r"^[\u2800-\u28ff]\s)", re.I)
# its status row, a braille spinner first ("⠏ Thinking... (esc to cancel, 3s)"): the same words
# quoted in a reply are not work
WORKING_RE = re.compile(r"^[\u2800-\u28ff]\s+\S.*\besc to cancel\b", re.I)
IDLE_RE = re.compile(r"(Type your message|^>\s)")


def detect(screen: Screen) -> Detection:
    return detect_with(screen, find_prompt, WORKING_RE, IDLE_RE)


def detect_qwen(screen: Screen) -> Detection:
    """Qwen Code, a fork of Gemini CLI: the same box, titled "? Shell <command> (<description>)"
    with the command alone on the lines under it."""
    return detect_with(screen, lambda s: find_prompt(s, "qwen"), WORKING_RE, IDLE_RE)


def find_prompt(screen: Screen, agent: str = "gemini") -> Prompt | None:
    menu = find_menu(screen, QUESTION_RE, 40, FOOTER_RE, slack=8)
    if menu is None:
        return None
    q = menu.question
    question = screen.lines[q]
    if menu.options[0].text.startswith("Yes, allow once"):  # Qwen's wording (Gemini's "Allow once")
        agent = "qwen"
    kind, summary, title_at = "other", "", q
    for i in range(q - 1, max(-1, q - 40), -1):
        m = TITLE_RE.match(screen.lines[i])
        if m:
            title_at = i
            kind = TOOLS.get(m.group("tool").lower(), "other")
            # "? WriteFile  Writing to notes.txt": the path is the summary
            # (Qwen marks the tool waiting on the user with a trailing "←")
            rest = m.group("rest").strip().removesuffix("←").strip()
            summary = re.sub(r"^Writing to ", "", rest)
            break
    if "MCP tool" in question:
        kind = "mcp"
    body = [line for line in screen.lines[title_at + 1: q] if line]
    if agent == "qwen" and kind == "bash" and body:
        summary = " ".join(body)  # (the title adds the description in brackets)
    if not summary:
        # a bare "? Shell" title: the command is quoted in "Allow execution of: '<cmd>'?"
        quoted = re.search(r"'([^']+)'", question) if kind == "bash" else None
        summary = quoted.group(1) if quoted else question
    # what the prompt asks, not how its options are worded: Qwen words its "Always allow …"
    # options once its rule for the command is worked out, a moment after the box is drawn
    # (the same prompt must not become a second queue entry then)
    sig = signature(agent, kind, summary, question, *(o.number for o in menu.options))
    return Prompt(kind=kind, summary=summary, allow=menu.allow, allow_always=menu.allow_always,
                  deny=menu.deny, agent=agent, signature=sig)
