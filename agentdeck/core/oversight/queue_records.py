"""What the approvals queue holds and says: its entries, its decisions (and their audit line),
the view the dashboard has of a queue, and how two sightings of a prompt, or typed keys and a
prompt, are matched."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from agentdeck.core.errors import OperationError
from agentdeck.core.files import open_private
from agentdeck.core.screen.detect import Prompt

ALLOW, ALWAYS, DENY = "allow", "always", "deny"
WITHDRAWN = "withdrawn by the agent"


class StaleAnswer(OperationError):
    """The prompt answered is no longer on the agent's screen."""


@dataclass(frozen=True)
class Entry:
    id: int
    agent: str
    prompt: Prompt
    created: float  # time.monotonic()
    created_at: str  # wall clock, for the log
    host: str = ""  # the host whose agent asks (fleet `hosts`); "": this machine

    @property
    def kind(self) -> str:
        return self.prompt.kind

    @property
    def summary(self) -> str:
        return self.prompt.summary


@dataclass(frozen=True)
class Decision:
    entry: Entry
    # allow | always | deny: an answer was sent (by agentdeck, or typed in the agent's pane);
    # "answered in pane" (typed keys of no known meaning); WITHDRAWN: the agent moved on, nobody
    # answered; "not taken by the agent"
    decision: str
    by: str  # "key" | "rule <file:line>" | "user" (typed in the pane) | "agent"
    at: str
    via: str = "screen"  # "hook" when the agent's hook carried the answer; "pane": typed keys
    keys: str = ""  # the keys that answered it: sent by agentdeck, or typed in the pane
    why: str = ""  # for a withdrawal: what was seen
    # where the user who answered was, when not at a terminal dashboard: {"via": "web",
    # "device": NAME} (a page of `agentdeck serve`), {"via": "push", "channel": "ntfy"} (a
    # notification's action); the audit line says that, and how the answer went ("through")
    origin: dict[str, str] = field(default_factory=dict, compare=False)
    # what the channel adds to the audit line (an ACP request's tool call id and the option
    # chosen)
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def audit_line(self) -> str:
        fields = {"time": self.at, "agent": self.entry.agent, "kind": self.entry.kind,
                  "summary": self.entry.summary, "decision": self.decision, "by": self.by,
                  "via": self.via}
        if self.origin:
            fields["through"] = self.via
            fields.update(self.origin)
        if self.keys:
            fields["keys"] = self.keys
        if self.why:
            fields["why"] = self.why
        fields.update(self.extra)
        return json.dumps(fields, ensure_ascii=False)


def append_audit(path: Path, record: Decision) -> None:
    """The audit log is append-only JSONL: one line per decision or removal."""
    with open_private(path, "a", encoding="utf-8") as fh:
        fh.write(record.audit_line() + "\n")


class QueueView(Protocol):
    """What the dashboard needs of a queue: this process's `ApprovalQueue`, or the daemon's
    seen through `agentdeck.daemon.client.RemoteQueue`."""

    history: deque[Decision]
    clock: Callable[[], float]  # what entries' `created` is measured on (their age)

    def pending(self) -> list[Entry]: ...

    def entry_for(self, agent: str) -> Entry | None: ...

    def via_hook(self, entry_id: int) -> bool: ...

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]: ...

    def typed(self, agent: str, data: bytes) -> None: ...

    def answer(self, entry_id: int, decision: str, by: str = "key",
               origin: dict[str, str] | None = None) -> Decision: ...

    def close(self) -> None: ...



def same_request(keyed: tuple[str, str], prompt: Prompt) -> bool:
    """Whether a prompt seen on one channel and one seen on the other (or drawn again) are the
    same request: the screen may show a long command wrapped or cut (compare the start of
    commands too long to be shown whole) and a file relative where the hook has its absolute
    path (compare its end). A short command is the same only when it is equal: `npm test` is
    not `npm test && rm -rf ~`."""
    kind, summary = keyed
    a, b = " ".join(summary.split()), " ".join(prompt.summary.split())
    if kind != prompt.kind or not a or not b:
        return False
    if a == b or a.endswith("/" + b) or b.endswith("/" + a):
        return True
    if a.endswith("…") or b.endswith("…"):  # cut where the screen ends, with a mark
        a, b = a.rstrip("…").rstrip(), b.rstrip("…").rstrip()
        return a.startswith(b) or b.startswith(a)
    return min(len(a), len(b)) >= CUT and a[:CUT] == b[:CUT]


# a command the screen may show cut without a mark is at least this long (the narrowest
# dialog shows more of it)
CUT = 24


def moved_above(before: Sequence[str], now: Sequence[str], prompt: Prompt) -> bool:
    """Whether the agent's screen moved on at the rows that show `prompt` since `before` — an
    answer's effect: the question drawn once more than before (asked again below the old
    one, or drawn anew under a transcript that quotes the old one), the prompt's own row
    changed (the answer echoed after it), or the lines above it scrolled up. A row above
    edited in place, or one added above the dialog, is not that: Claude Code blinks the dot
    of the tool it runs ("● Bash(…)") and adds its "Running…" line while the answered dialog
    is still drawn (either read as "asked again" queued an answered prompt a second time);
    nor is a change only below it (Gemini CLI writes under its dialog as it takes a "no")."""
    if list(before) == list(now):
        return False
    key = " ".join(prompt.summary.split())[:CUT // 2]

    def rows(lines: Sequence[str]) -> list[int]:
        return [i for i, line in enumerate(lines) if key and key in " ".join(line.split())]

    shown, was = rows(now), rows(before)
    # (not found — a summary the screen shows otherwise: not moved, and an answer really not
    # taken is queued again by the queue's check)
    if not shown or not was:
        return False
    row, old = shown[-1], was[-1]
    first = next((i for i, (x, y) in enumerate(zip(before, now, strict=False)) if x != y),
                 min(len(before), len(now)))
    if first > old:
        return False  # changed only below it: its options' highlight, a line under the dialog
    if len(shown) > len(was) or before[old] != now[row] or row < old:
        return True
    return row == old and _scrolled(before[:row], now[:row])


def _scrolled(before: Sequence[str], now: Sequence[str]) -> bool:
    """The changed rows of `now` hold `before`'s moved up by one or more rows (and text): lines
    scrolled away above a block drawn in place (a dialog pinned to the bottom of the screen
    stays where it was while the transcript above it scrolls)."""
    changed = next((i for i in range(min(len(before), len(now)) - 1, -1, -1)
                    if before[i] != now[i]), -1)
    for shift in range(1, changed + 1):
        kept = now[:changed + 1 - shift]
        if any(line.strip() for line in kept) and list(kept) == list(before[shift:changed + 1]):
            return True
    return False


def keys_for(agent: str, prompt: Prompt, decision: str) -> tuple[str, str]:
    """The keys that give `decision` (allow / always / deny / "option N") to `prompt`, and the
    decision as the audit log says it."""
    if decision.startswith("option "):
        n = int(decision.split()[1])
        if not 1 <= n <= len(prompt.options):
            offered = f"1-{len(prompt.options)}" if prompt.options else "none"
            raise OperationError(f"{agent}'s prompt has no option {n} (options: {offered})")
        label, keys = prompt.options[n - 1]
        return keys, f"option {n}: {label}"
    chosen = {ALLOW: prompt.allow, ALWAYS: prompt.allow_always, DENY: prompt.deny}[decision]
    if not chosen:
        if decision == ALWAYS:
            raise OperationError(f"{agent} offers no 'allow always' for this prompt; "
                                 "use y (allow once) or n (deny)")
        raise OperationError(f"{agent}'s prompt has no '{decision}' option; pick one with "
                             f"1-{len(prompt.options)}")
    return chosen, decision


def same_prompt(a: Prompt, b: Prompt) -> bool:
    """One prompt drawn twice (redrawn, re-wrapped after a resize, or its hook's request and
    its dialog): the same signature, or the same request."""
    return a.signature == b.signature or same_request((a.kind, a.summary), b)


def meaning_of(keys: bytes, prompt: Prompt) -> str:
    """What keys typed in a pane did to a prompt, where they match its own answer keys."""
    typed = keys.decode(errors="replace")
    for decision, answer in ((ALLOW, prompt.allow), (ALWAYS, prompt.allow_always),
                             (DENY, prompt.deny)):
        key = (answer or "").rstrip("\r")
        if not key or not typed.startswith(key):
            continue
        if key == "\x1b" and typed[1:2] in ("[", "O"):
            continue  # an arrow or function key, not Esc
        return decision
    return "answered in pane"


def printable(keys: bytes) -> str:
    return keys.decode(errors="replace").encode("unicode_escape").decode()[:80]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
