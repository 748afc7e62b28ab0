"""Aider: prompt_toolkit confirm questions on the last line.

Aider asks "<question>? (Y)es/(N)o[/(A)ll/(S)kip all][/(D)on't ask again] [Yes]: " and waits on
that line; an answered question stays on screen with the answer after the colon, so only a last
line with nothing after the colon is pending. The subject (a command, a file name) is printed on
the lines just above. "(D)on't ask again" declines and stops asking, so it is not "allow always";
"(A)ll" is. Idle, aider shows its input prompt: "> " (or "diff> ", "architect> ", …).

Rate limited, it prints litellm's "RateLimitError: …", "The API provider has rate limited you
…" and "Retrying in 8.0 seconds..." with its "Waiting for <model>" spinner under it; once the
next wait would pass a minute it gives up: the error, then its input prompt again.
"""

from __future__ import annotations

import re

from agentdeck.core.screen.detect.base import (
    IDLE,
    RATE_LIMITED,
    UNKNOWN,
    WAITING,
    WORKING,
    Detection,
    Prompt,
    Screen,
    rate_limit,
    signature,
)

CONFIRM_RE = re.compile(r"^(?P<question>.+?\?)\s+\(Y\)es/\(N\)o(?P<more>[^\[]*)\s*\[(?:Yes|No)\]:"
                        r"\s*(?P<answer>.*)$")
IDLE_RE = re.compile(r"^(?:[\w-]+ )?(?:[\w-]+)?>\s*$")
WORKING_RE = re.compile(r"(Waiting for |[░█▁▂▃▄▅▆▇]{3,}|Thinking|Tokens: .* sent)")
KIND_OF = (("run shell command", "bash"), ("create new file", "write"),
           ("allow edits", "edit"), ("edit the file", "edit"), ("add url", "fetch"),
           ("add file", "other"), ("add ", "other"))


RETRY_RE = re.compile(r"^Retrying in [\d.]+ seconds?")
GAVE_UP_RE = re.compile(r"(RateLimitError|The API provider has rate limited you)")
# what aider prints above its input prompt each time: not output of the last request
HEADER_RE = re.compile(r"^(Readonly|Editable): |^[─━]{8,}$")


def detect(screen: Screen) -> Detection:
    prompt = find_prompt(screen)
    if prompt:
        return Detection(WAITING, prompt)
    limit = _limit(screen)
    if limit:
        return limit
    limited, reset = rate_limit(screen, window=4)
    if limited:
        return Detection(RATE_LIMITED, reset=reset)
    last = screen.lines[screen.last] if screen.last >= 0 else ""
    if IDLE_RE.match(last):
        return Detection(IDLE)
    if any(WORKING_RE.search(line) for line in screen.tail(3)):
        return Detection(WORKING)
    return Detection(UNKNOWN)


def _limit(screen: Screen) -> Detection | None:
    """Retrying ("Retrying in 8.0 seconds..." last, its spinner under it), or given up (the
    rate limit's error the last thing printed above a fresh input prompt, until the user sends
    anything)."""
    rows = [i for i in range(screen.last, max(-1, screen.last - 12), -1) if screen.lines[i]]
    if not rows:
        return None
    last = screen.lines[rows[0]]
    if IDLE_RE.match(last):
        output = [screen.lines[i] for i in rows[1:] if not HEADER_RE.match(screen.lines[i])]
        if any(GAVE_UP_RE.search(line) for line in output[:3]):
            return Detection(RATE_LIMITED, detail="gave up: 429")
        return None
    for i in rows[:2]:  # (the spinner row may be under it)
        m = RETRY_RE.match(screen.lines[i])
        if m:
            return Detection(RATE_LIMITED, detail="retrying")  # (see status.limit_in)
    return None


def find_prompt(screen: Screen) -> Prompt | None:
    if screen.last < 0:
        return None
    m = CONFIRM_RE.match(screen.lines[screen.last])
    if not m or m.group("answer") or screen.cursor_left(screen.last):
        return None
    question = m.group("question")
    kind = next((k for prefix, k in KIND_OF if question.lower().startswith(prefix)), "other")
    subject = ""
    for i in range(screen.last - 1, max(-1, screen.last - 6), -1):
        if screen.lines[i]:
            subject = screen.lines[i]
            break
    if question.startswith("Add command output"):
        subject = _command(screen) or subject  # (its output is what stands above)
    summary = subject if subject and kind != "other" else f"{question} {subject}".strip()
    always = "a\r" if "(A)ll" in m.group("more") else None
    sig = signature("aider", question, subject, str(screen.last))
    return Prompt(kind=kind, summary=summary, allow="y\r", allow_always=always, deny="n\r",
                  agent="aider", signature=sig)


def _command(screen: Screen) -> str:
    """The commands whose output the question offers: the "Running <command>" lines since the
    last question answered above it."""
    commands: list[str] = []
    for i in range(screen.last - 1, -1, -1):
        line = screen.lines[i]
        if CONFIRM_RE.match(line):
            break
        if line.startswith("Running "):
            commands.insert(0, line.removeprefix("Running ").strip())
    return " && ".join(commands)
