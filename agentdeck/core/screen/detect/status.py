"""The live rows of an agent's screen: its input box, the block right above it and the footer
under it — where a CLI draws what it is doing now.

A phrase found anywhere on the screen says nothing: "esc to interrupt" quoted in the
conversation, left in an old turn's block or typed into the input box is not work, and a rate
limit's words in last hour's output are not a limit now. The CLIs draw their present in one
place: the status row (a spinner with its timer or token counter, a retry's countdown) is the
first row of the last block above the input box, and its hints are in the footer under the box.
A finished turn leaves a message or a summary line ("✻ Worked for 3m") there instead; a call
the CLI gave up on leaves its error there until the user sends anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentdeck.core.screen.detect.base import RATE_LIMIT_RE, RESET_RE, Screen

_RULE = re.compile(r"^[\s─━═╭╮╰╯┌┐└┘\-]{8,}$")
_INPUT = re.compile(r"^[❯>›](?:[ \u00a0]|$)")  # (a placeholder follows a no-break space)
# rows of a block that report on its head: a tool's result (Claude ⎿, Codex └) or an error
_REPORT = ("⎿", "└", "■")
# a retry in progress: Claude Code's "API error · retrying in 12s · attempt 2/10" (later
# attempts quote the server: "429 This request would exceed … · retrying in 3s · attempt
# 3/10"), Codex's "Server is busy, reconnecting 4/5", Aider's (litellm's) "Retrying in 8.0
# seconds..."
_RETRY = re.compile(r"(?:\bretrying in \d+(?:\.\d+)?\s*(?:[hms]\b|sec|seconds?\b)[^·]*"
                    r"(?:·\s*attempt (?P<n>\d+)/(?P<of>\d+))?|"
                    r"\breconnecting (?P<rn>\d+)/(?P<rof>\d+))", re.IGNORECASE)
# where a retry is written: a spinner's row, a report row, Aider's own line; Codex's
# reconnecting row (its "•" also heads its messages: the row must say what it is)
_RETRY_ROW = re.compile(r"^(?:[·✢✳✶✻✽*⎿└■]\s|Retrying in |[•◦]\s+(?:Server is busy|.*\besc to "
                        r"interrupt\)$))")
# the CLI stopped retrying: Claude's "API Error: Request rejected (429) · …" (older: "API
# Error: 429 {…}"), Codex's "exceeded retry limit, last status: 429 Too Many Requests"
_GAVE_UP = re.compile(r"(?:API Error:\s*(?:Request rejected \()?(?P<code>\d{3})|"
                      r"exceeded retry limit, last status: (?P<last>\d{3}))", re.IGNORECASE)
LIMIT_CODES = ("429", "529")  # rate limited, overloaded: the statuses a limit's wait is for
# a row the CLI wrote about its own call (not a message that may quote anything): a report row,
# or a head that is its error ("● API Error: …", "■ You've hit your usage limit …")
_OWN = re.compile(r"^(?:[⎿└■]|(?:[●⏺•✻⚠✗✘]\s+)?(?:API Error|Error\b|Claude (?:AI )?usage "
                  r"limit|You've hit your|Rate limit|Usage limit|Server is busy))", re.IGNORECASE)


@dataclass(frozen=True)
class Limit:
    """A rate limit the live rows show: its detail ("retrying, 2/10", "gave up: 429", None for
    a plain limit message) and its reset as the agent said it."""

    detail: str | None
    reset: str | None


@dataclass
class Live:
    """The live rows of one screen: `footer` the rows under the input box, `block` the rows of
    the last block above it (cleaned; its first row, the head, is the status row while the
    agent works)."""

    footer: list[str] = field(default_factory=list)
    block: list[str] = field(default_factory=list)

    @property
    def head(self) -> str:
        return self.block[0] if self.block else ""

    @property
    def reports(self) -> list[str]:
        """The head and the rows that report on it (⎿ …, └ …): where a CLI writes a retry or
        an error; not a message's prose, which may quote anything."""
        return [self.head, *(row for row in self.block[1:] if row.startswith(_REPORT))]


def input_box(screen: Screen, window: int = 24) -> tuple[int, int] | None:
    """(top rule, bottom rule) of an input box near the bottom: a row starting with the prompt
    glyph (❯ > ›) with a rule right above it and one below (Claude Code, Copilot, Gemini; the
    older boxed ╭─╮ │ > │ ╰─╯ style too), recognised by its shape, not by footer wording that
    changes between versions. Typed text may fill several rows of it."""
    for i in range(screen.last, max(-1, screen.last - window), -1):
        if not _INPUT.match(screen.lines[i]):
            continue
        top = next((j for j in range(i - 1, max(-1, i - 3), -1) if screen.lines[j]), -1)
        if top < 0 or not _RULE.match(screen.lines[top]):
            continue
        bottom = next((j for j in range(i + 1, min(len(screen.lines), i + 16))
                       if _RULE.match(screen.lines[j])), -1)
        if bottom >= 0:
            return top, bottom
    return None


def composer(screen: Screen, window: int = 8) -> int:
    """Codex's composer: the last row that starts with "›" in the screen's first column, with
    only its footer (indented hints) under it. -1 when there is none (a dialog hides it)."""
    seen = 0
    for i in range(screen.last, -1, -1):
        raw = screen.raw[i]
        if not raw.strip():
            continue
        if raw.startswith("›"):
            return i
        seen += 1
        if seen > window:
            break
    return -1


def block_above(screen: Screen, end: int, reach: int = 60) -> list[str]:
    """The last block of rows above row `end`: from its head (a row written from the first
    column: a message's bullet, a spinner, the user's echoed prompt) down to `end`, blank rows
    left out. Indented rows belong to the head above them."""
    rows: list[str] = []
    for i in range(end - 1, max(-1, end - 1 - reach), -1):
        raw = screen.raw[i]
        if not raw.strip() or _RULE.match(screen.lines[i]):
            if _RULE.match(screen.lines[i]) and rows:
                break  # (a rule closes the block: a dialog's or the box's edge)
            continue
        rows.insert(0, screen.lines[i])
        if not raw[:1].isspace():
            break
    return rows


def live(screen: Screen, box: tuple[int, int] | None) -> Live:
    """The live rows around the input box `box` (found by the caller, each CLI its own way);
    without one, the screen's last block (a partial screen: a pane's bottom rows)."""
    if box is None:
        return Live([], block_above(screen, screen.last + 1))
    top, bottom = box
    footer = [line for line in screen.lines[bottom + 1: screen.last + 1] if line]
    return Live(footer, block_above(screen, top))


def limit_in(rows: list[str]) -> Limit | None:
    """The rate limit that `rows` (a block's head and reports) show, if any."""
    for row in rows:
        m = _RETRY.search(row)
        if m and _RETRY_ROW.match(row):
            # (no reset: the CLI's countdown to its next attempt changes every second, and
            # nothing is to be done when it ends — it retries by itself)
            n, of = m.group("n") or m.group("rn"), m.group("of") or m.group("rof")
            return Limit(f"retrying, {n}/{of}" if n else "retrying", None)
    for row in rows:
        m = _GAVE_UP.search(row)
        if m and _OWN.match(row) and (m.group("code") or m.group("last")) in LIMIT_CODES:
            return Limit(f"gave up: {m.group('code') or m.group('last')}", _reset(row))
    for row in rows:
        if _OWN.match(row) and RATE_LIMIT_RE.search(row):
            return Limit(None, _reset(row))
    return None


def _reset(row: str) -> str | None:
    m = RESET_RE.search(row)
    return m.group(1).strip().rstrip(".") if m else None
