"""Crush (charmbracelet/crush): its permission dialog and input placeholders.

Built from its source (internal/ui/dialog/permissions.go, internal/ui/model/ui.go at v0.90):
its npm package downloads the binary from GitHub at install time, which the test machine
cannot reach, so no real screen of it has been captured yet (`agentdeck doctor` says
unverified). The dialog: a "Permission Required" title, key/value rows ("Tool bash", "Path …",
"Desc …"; "File …" for edit/write), the request in a panel (the command, or a diff), the
buttons "Allow  Allow for Session  Deny" on one row (stacked when narrow) and the help
"←/→ choose • enter confirm • esc exit". Keys: a allows, s allows for the session, d denies.
The input's placeholder says what it is doing: "Ready!", "Ready for instructions", … idle;
"Working!", "Thinking...", "Brrrrr...", … busy, with "esc cancel" in its help bar.
"""

from __future__ import annotations

import re

from agentdeck.core.screen.detect.base import (
    Detection,
    Prompt,
    Screen,
    detect_with,
    nothing_below,
    signature,
)

HEAD_RE = re.compile(r"^Permission Required\b")
BUTTONS_RE = re.compile(r"\bAllow\b.*\bDeny$|^Deny$")
KEY_RE = re.compile(r"^(?P<key>Tool|Path|Desc|File|URL|Directory)\s+(?P<value>.*)$")
FOOTER_RE = re.compile(r"(choose|enter confirm|esc exit|^\W*$|^Allow( for Session)?$)", re.I)
WORKING_RE = re.compile(r"(^(Working!|Working\.\.\.|Brrrrr\.\.\.|Prrrrrrrr\.\.\.|"
                        r"Processing\.\.\.|Thinking\.\.\.)$|\besc (press again to )?cancel\b)")
IDLE_RE = re.compile(r"^(Ready!|Ready\.\.\.|Ready\?|Ready for instructions)$")
TOOLS = {"bash": "bash", "edit": "edit", "multiedit": "edit", "write": "write",
         "fetch": "fetch", "download": "fetch", "agentic_fetch": "fetch"}


def detect(screen: Screen) -> Detection:
    return detect_with(screen, find_prompt, WORKING_RE, IDLE_RE)


def find_prompt(screen: Screen) -> Prompt | None:
    head = screen.find_last(HEAD_RE, max(0, screen.last - 60))
    if head < 0:
        return None
    buttons = next((i for i in range(screen.last, head, -1)
                    if BUTTONS_RE.search(screen.lines[i])), -1)
    if buttons < 0 or not nothing_below(screen, buttons, FOOTER_RE, slack=4):
        return None
    fields: dict[str, str] = {}
    request: list[str] = []
    for line in screen.lines[head + 1: buttons]:
        m = KEY_RE.match(line)
        if m and not request and m.group("key") not in fields:
            fields[m.group("key")] = m.group("value").strip()
        elif line and not re.match(r"^Allow( for Session)?$", line):
            request.append(line)
    tool = fields.get("Tool", "")
    kind = "mcp" if "→" in tool else TOOLS.get(tool.lower(), "other")
    if kind == "bash":
        summary = " ".join(request) or fields.get("Desc", "")
    else:
        summary = (fields.get("File") or fields.get("URL") or fields.get("Directory")
                   or f"{tool} {fields.get('Path', '')}".strip())
    return Prompt(kind=kind, summary=summary or "permission required", allow="a",
                  allow_always="s", deny="d", agent="crush",
                  signature=signature("crush", *screen.lines[head: buttons + 1]))
