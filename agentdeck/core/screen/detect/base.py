"""What a detector returns, and the screen helpers every detector shares.

A detector reads the rendered screen (the live rows, not the scrollback) and answers two
questions: what state is the agent in, and is a permission prompt waiting — and if so which keys
answer it. Prompts are only believed at the bottom of the screen, fully drawn: a menu whose deny
option has not been drawn yet, or the same words in a diff or in the agent's prose, are not
prompts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

WORKING, WAITING, IDLE = "working", "waiting", "idle"
RATE_LIMITED, UNKNOWN = "rate-limited", "unknown"
KINDS = ("bash", "edit", "write", "fetch", "mcp", "other")
ESC = "\x1b"

_BORDER = "│┃║|"
_SELECT_MARKS = "❯›>●◉▶→*"
OPTION_RE = re.compile(r"^(?P<mark>[" + re.escape(_SELECT_MARKS) + r"])?\s*"
                       r"(?P<num>\d{1,2})[.)]\s+(?P<text>\S.*)$")
_SHORTCUT_RE = re.compile(r"\((?P<key>esc|[a-z])\)\s*$", re.IGNORECASE)
_WRAP_STOPS = "│┃║╮╯╭╰┐┘─━═"
_RULE_RE = re.compile(r"^[\s─━═╭╮╰╯┌┐└┘\-]{8,}$")


@dataclass(frozen=True)
class Prompt:
    kind: str
    summary: str
    allow: str  # the keys to send, exactly
    deny: str
    allow_always: str | None = None
    agent: str = "generic"
    signature: str = ""  # stable for one prompt on screen; differs for the next one
    # a menu's options as (label, keys) — what the queue's 1-9 send; () for yes/no questions
    options: tuple[tuple[str, str], ...] = ()
    # what "allow always" covers, in the agent's words ("npm test:* commands in /src",
    # "commands that start with `make`"): an always answer is wider than the request
    always_scope: str = ""
    # the summary joins several screen rows (a wrapped or a multi-line command): which breaks
    # were newlines is unknown, so it is not the exact request an approval rule needs
    joined: bool = False

    def __post_init__(self) -> None:
        # from the wire (JSON) options arrive as lists: keep the prompt hashable and comparable
        object.__setattr__(self, "options", tuple(tuple(o) for o in self.options))

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "summary": self.summary,
                                  "allow": self.allow, "allow_always": self.allow_always,
                                  "deny": self.deny}
        if self.options:
            out["options"] = [{"label": label, "keys": keys} for label, keys in self.options]
        return out


@dataclass(frozen=True)
class Detection:
    state: str = UNKNOWN
    prompt: Prompt | None = None
    reset: str | None = None  # when a rate limit ends, as the agent said it
    # what a rate limit is doing, beside the state's name: "retrying, 2/10" while the CLI
    # retries by itself, "gave up: 429" once it stopped (the state stays "rate-limited")
    detail: str | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"state": self.state,
                                  "prompt": self.prompt.as_json() if self.prompt else None}
        if self.reset:
            out["reset"] = self.reset
        if self.detail:
            out["detail"] = self.detail
        return out


def clean(line: str) -> str:
    """A screen line without box borders, a scrollbar's thumb at its right edge and outer
    blanks (Qwen Code and Gemini CLI draw a thumb, "█", in the right border column of a box
    taller than the screen: a dialog whose top has scrolled away)."""
    text = line.strip()
    if text[:1] in _BORDER:
        text = text[1:]
    if text[-1:] in _BORDER or (text[-1:] == "█" and text[-2:-1] in ("", " ", "\u00a0")):
        text = text[:-1]
    return text.strip()


def unwrap(rows: list[str], cols: int | None, cursor_row: int | None = None,
           wrapped: set[int] | None = None) -> tuple[list[str], int | None]:
    """Join rows the terminal wrapped into the line the program printed, so a question or an
    option that wrapped in a narrow pane still reads whole. `wrapped` is the emulator's own
    record of soft wraps; without it, a row filled to column `cols` is taken as wrapped unless
    it ends in a box border or rule (those fill the width by drawing) — a guess that also
    joins a line that merely fills the width exactly."""
    out: list[str] = []
    cursor = cursor_row
    joining = False
    for index, row in enumerate(rows):
        if joining:
            out[-1] += row
            if cursor_row is not None and index <= cursor_row:
                cursor = (cursor or 0) - 1
        else:
            out.append(row)
        if wrapped is not None:
            joining = index in wrapped
        else:
            joining = bool(cols) and len(row) >= (cols or 0) and not _drawn_to_edge(row)
    return out, cursor


def _drawn_to_edge(row: str) -> bool:
    """A row filled by drawing (a box border, a rule of any box-drawing character), not by text
    that the terminal wrapped."""
    text = row.rstrip()
    last = text[-1:]
    # (a box's scrollbar thumb in its border column, after a blank: clean)
    return (last in _WRAP_STOPS or "\u2500" <= last <= "\u257f"
            or (last == "█" and text[-2:-1] in ("", " ", "\u00a0")))


@dataclass
class Screen:
    """The live screen as cleaned lines, with the index of the last line holding anything.
    With `cols`, rows the terminal wrapped are joined first (see `unwrap`)."""

    raw: list[str]
    cursor_row: int | None = None  # where the cursor is, when the caller knows
    cols: int | None = None
    wrapped: set[int] | None = None  # soft-wrapped rows, when the emulator knows them
    lines: list[str] = field(init=False)
    last: int = field(init=False)
    # what each detector asks of the same screen, read once (a kind the fleet file names only
    # as a command is read by every detector: the session host does this for every change of
    # every agent's screen)
    _limits: dict[int, tuple[bool, str | None]] = field(init=False, default_factory=dict)
    _menu: list[Prompt | None] = field(init=False, default_factory=list)  # (menus.py's)

    def __post_init__(self) -> None:
        if self.cols or self.wrapped is not None:
            self.raw, self.cursor_row = unwrap(self.raw, self.cols, self.cursor_row,
                                               self.wrapped)
        self.lines = [clean(line) for line in self.raw]
        filled = (i for i, line in enumerate(self.lines) if line and not _RULE_RE.match(line))
        self.last = max(filled, default=-1)

    @classmethod
    def of(cls, text: str | list[str], cursor_row: int | None = None,
           cols: int | None = None, wrapped: set[int] | None = None) -> Screen:
        rows = text.split("\n") if isinstance(text, str) else list(text)
        return cls(rows, cursor_row, cols, wrapped)

    def cursor_left(self, line: int) -> bool:
        """True when the cursor is known to be below `line`: a one-line question the program
        is still waiting on keeps the cursor on its own line."""
        return self.cursor_row is not None and self.cursor_row > line

    def tail(self, n: int) -> list[str]:
        return self.lines[max(0, self.last + 1 - n): self.last + 1]

    def tail_text(self, n: int) -> str:
        return "\n".join(self.tail(n))

    def find_last(self, pattern: re.Pattern[str], start: int = 0) -> int:
        for i in range(self.last, start - 1, -1):
            if pattern.search(self.lines[i]):
                return i
        return -1


@dataclass(frozen=True)
class Option:
    number: str
    text: str
    selected: bool
    line: int

    @property
    def shortcut(self) -> str | None:
        m = _SHORTCUT_RE.search(self.text)
        if not m:
            return None
        key = m.group("key").lower()
        return ESC if key == "esc" else key

    @property
    def meaning(self) -> str:
        """allow / always / deny / other, from how the option reads."""
        text = self.text.lower()
        if re.match(r"(no\b|deny|reject|cancel|don't allow|do not allow)", text):
            return "deny"
        if re.match(r"(yes|allow|always allow|approve|proceed|run|accept|ok\b)", text):
            if re.search(r"don't ask again|do not ask again|always|for this session|all edits|"
                         r"allow all|for the rest", text):
                return "always"
            return "allow"
        return "other"


def options_after(screen: Screen, start: int) -> list[Option]:
    """The numbered menu that follows line `start`: consecutive numbers 1, 2, …, blank lines
    allowed in between. A long option that the program itself wrapped onto indented lines (Claude
    Code and Codex do) reads whole, so "… for this session" or a "(p)" shortcut on its last line
    still counts."""
    found: list[Option] = []
    indent = 0
    for i in range(start + 1, screen.last + 1):
        line = screen.lines[i]
        m = OPTION_RE.match(line)
        if m and int(m.group("num")) == len(found) + 1:
            found.append(Option(m.group("num"), m.group("text").strip(), bool(m.group("mark")), i))
            raw = screen.raw[i]
            indent = len(raw) - len(raw.lstrip()) + len(m.group("num")) + 2
        elif m and found:
            break
        elif found and line and _indent(screen.raw[i]) >= indent > 0:
            last = found[-1]
            found[-1] = Option(last.number, f"{last.text} {line}", last.selected, last.line)
        elif found:
            indent = 0  # anything else ends the continuation
    return found


def _indent(raw: str) -> int:
    text = raw.lstrip(" " + _BORDER)
    return len(raw) - len(text)


def menu_keys(options: list[Option], prefer_shortcuts: bool) -> tuple[str, str | None, str] | None:
    """(allow, allow_always, deny) keys for a menu, or None when it is not a yes/no menu."""
    by_meaning: dict[str, Option] = {}
    for option in options:
        by_meaning.setdefault(option.meaning, option)
    if "allow" not in by_meaning or "deny" not in by_meaning:
        return None

    def key(option: Option) -> str:
        shortcut = option.shortcut
        if prefer_shortcuts and shortcut:
            return shortcut
        return option.number

    always = by_meaning.get("always")
    return key(by_meaning["allow"]), key(always) if always else None, key(by_meaning["deny"])


@dataclass(frozen=True)
class Menu:
    """A question with a yes/no menu under it, fully drawn at the bottom of the screen."""

    question: int  # line of the question
    options: list[Option]
    allow: str
    allow_always: str | None
    deny: str

    @property
    def end(self) -> int:
        return self.options[-1].line

    @property
    def always_scope(self) -> str:
        """What the "allow always" option covers, in its own words: "Yes, and don't ask again
        for npm test:* commands in /src (p)" gives "npm test:* commands in /src"."""
        option = next((o for o in self.options if o.meaning == "always"), None)
        if option is None:
            return ""
        text = _SHORTCUT_RE.sub("", option.text).strip()
        m = re.search(r"(?:don't|do not) ask again (?:for )?(?P<scope>.+)$", text, re.I)
        if m:
            return m.group("scope").strip()
        return re.sub(r"^yes,?\s*(and\s+)?", "", text, flags=re.I)


def find_menu(screen: Screen, question: re.Pattern[str], window: int,
              footer: re.Pattern[str] | None = None, prefer_shortcuts: bool = False,
              slack: int = 3) -> Menu | None:
    """The last `question` within `window` lines of the bottom whose numbered menu offers allow
    and deny and has nothing but footer lines below it."""
    q = screen.find_last(question, max(0, screen.last - window))
    if q < 0:
        return None
    options = options_after(screen, q)
    keys = menu_keys(options, prefer_shortcuts) if options else None
    if keys is None or not nothing_below(screen, options[-1].line, footer, slack):
        return None
    return Menu(q, options, *keys)


def signature(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:16]


def nothing_below(screen: Screen, line: int, allowed: re.Pattern[str] | None = None,
                  slack: int = 3) -> bool:
    """True when at most `slack` lines follow `line`, all footer (matching `allowed`, if
    given) — a prompt that scrolled up under newer output is no longer pending. Below a box's
    closing border (the dialog drawn whole) a notice of the program's own may stand."""
    below = [x for x in screen.lines[line + 1: screen.last + 1] if x]
    if len(below) > slack:
        return False
    if allowed is None:
        return True
    for text in below:
        if text[:1] in "╰└":
            return True
        if not allowed.search(text):
            return False
    return True


RATE_LIMIT_RE = re.compile(
    r"(usage limit reached|rate limit(ed)?\b|rate_limit_error|\b429\b|too many requests|"
    r"quota exceeded|resource_exhausted|hit your usage limit|limit reached[^\n]*resets|"
    # Claude Code retrying a failed call ("API error · retrying in 24s · attempt 1/10"); Codex
    # reconnecting ("Server is busy, reconnecting 2/5", "exceeded retry limit")
    r"api error\b.*\bretrying in\b|server is busy|reconnecting \d+/\d+|exceeded retry limit)",
    re.IGNORECASE)
RESET_RE = re.compile(
    r"(resets?(?: at)? [^\n·|]+|try again (?:in|at|after) [^\n.·|]+|"
    r"retry(?:ing)? (?:in|after) [^\n.·|]+)",
    re.IGNORECASE)


def rate_limit(screen: Screen, window: int = 6) -> tuple[bool, str | None]:
    known = screen._limits.get(window)
    if known is None:
        known = screen._limits[window] = _rate_limit(screen.tail_text(window))
    return known


# one of these is in every text RATE_LIMIT_RE matches (lower case): most screens have none,
# and a substring test costs a fraction of the pattern's search
_LIMIT_WORDS = ("limit", "429", "too many", "quota", "exhausted", "retrying", "busy",
                "reconnecting")


def _rate_limit(text: str) -> tuple[bool, str | None]:
    low = text.lower()
    if not any(word in low for word in _LIMIT_WORDS) or not RATE_LIMIT_RE.search(text):
        return False, None
    m = RESET_RE.search(text)
    return True, m.group(1).strip().rstrip(".") if m else None


_INPUT_MARK = re.compile(r"^[❯>›](?:[ \u00a0]|$)")  # (a placeholder follows a no-break space)


def input_box(screen: Screen, window: int = 10) -> bool:
    """An agent's empty or filled input box near the bottom: a line starting with its prompt
    glyph (❯ > ›) between two horizontal rules, as Claude Code (2.1.33x) and others draw it —
    recognised by its shape, not by footer wording that changes between versions."""
    start = max(0, screen.last - window)
    for i in range(screen.last, start - 1, -1):
        if not _INPUT_MARK.match(screen.lines[i]):
            continue
        above = next((screen.lines[j] for j in range(i - 1, max(-1, i - 3), -1)
                      if screen.lines[j]), "")
        below = next((screen.lines[j] for j in range(i + 1, min(len(screen.lines), i + 8))
                      if _RULE_RE.match(screen.lines[j])), "")
        if _RULE_RE.match(above) and below:
            return True
    return False


def detect_with(screen: Screen, find_prompt: Callable[[Screen], Prompt | None],
                working: re.Pattern[str], idle: re.Pattern[str]) -> Detection:
    """The order every agent detector keeps: a pending prompt, then a rate limit, then the
    status line (working), then the input box (idle) — except that a status line below the
    limit's text is working: an agent resumed after its limit works again with that text
    still on its screen (a retry's text comes below the status line, and stays a limit)."""
    prompt = find_prompt(screen)
    if prompt:
        return Detection(WAITING, prompt)
    start = max(0, screen.last + 1 - 8)
    busy = screen.find_last(working, start)
    limited, reset = rate_limit(screen)
    if limited and not busy > screen.find_last(RATE_LIMIT_RE, start) >= 0:
        return Detection(RATE_LIMITED, reset=reset)
    if busy >= 0:
        return Detection(WORKING)
    tail = screen.tail(8)
    if any(idle.search(line) for line in tail) or input_box(screen):
        return Detection(IDLE)
    return Detection(UNKNOWN)
