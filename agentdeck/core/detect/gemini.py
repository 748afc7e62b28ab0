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

from agentdeck.core.detect.base import (
    Detection,
    Prompt,
    Screen,
    detect_with,
    menu_keys,
    nothing_below,
    options_after,
    signature,
)

QUESTION_RE = re.compile(r"^(Allow execution of(?: MCP tool)?\b.*\?|Apply this change\?|"
                         r"Do you want to proceed\?|Allow execution\?)$")
TITLE_RE = re.compile(r"^[?⊷✦]\s+(?P<tool>[A-Za-z_]\w*)\s*(?P<rest>.*)$")
TOOLS = {"shell": "bash", "edit": "edit", "replace": "edit", "writefile": "write",
         "write_file": "write", "webfetch": "fetch", "web_fetch": "fetch", "googlesearch": "fetch",
         "run_shell_command": "bash"}
FOOTER_RE = re.compile(r"(^\W*$|waiting for user confirmation|context left|sandbox|esc to cancel)",
                       re.I)
WORKING_RE = re.compile(r"esc to cancel", re.I)
IDLE_RE = re.compile(r"(Type your message|^>\s)")


def detect(screen: Screen) -> Detection:
    return detect_with(screen, find_prompt, WORKING_RE, IDLE_RE)


def find_prompt(screen: Screen) -> Prompt | None:
    q = screen.find_last(QUESTION_RE, max(0, screen.last - 40))
    if q < 0:
        return None
    options = options_after(screen, q)
    keys = menu_keys(options, prefer_shortcuts=False) if options else None
    if keys is None or not nothing_below(screen, options[-1].line, FOOTER_RE):
        return None
    question = screen.lines[q]
    kind, summary, title_at = "other", question, q
    for i in range(q - 1, max(-1, q - 40), -1):
        m = TITLE_RE.match(screen.lines[i])
        if m:
            title_at = i
            kind = TOOLS.get(m.group("tool").lower(), "other")
            summary = m.group("rest").strip() or summary
            break
    if "MCP tool" in question:
        kind = "mcp"
    elif kind == "bash" and (m2 := re.search(r"'([^']+)'", question)) and not summary:
        summary = m2.group(1)
    allow, always, deny = keys
    sig = signature("gemini", *screen.lines[title_at: options[-1].line + 1])
    return Prompt(kind=kind, summary=summary, allow=allow, allow_always=always, deny=deny,
                  agent="gemini", signature=sig)
