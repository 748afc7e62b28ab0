"""An ACP permission request (`session/request_permission`) as an approvals queue entry.

The request carries the tool call (its kind, title, raw input, diffs) and the options the agent
offers (allow once / allow always / reject once / reject always, each with an id). It becomes
a `Prompt` whose kind comes from the tool call's kind (execute → bash, edit, read, fetch, …)
and whose summary is the command, or the files with their +/- counts; `AcpRequest` waits in
the queue as a hook's request does (the queue answers it once, `reply`), and maps the answer —
allow, always, deny or "option N" — to the option the agent offered. No SDK type here: the
session (session.py) hands plain values over, so the queue side needs no pydantic.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentdeck.core.agents.acp.conversation import Diff, diff_summary
from agentdeck.core.fleet.kinds import SHELL_PROGRAMS
from agentdeck.core.screen.detect import Prompt

# the protocol's tool kinds as the queue's prompt kinds (rules and the queue's column go by
# these: a command to run is "bash" whichever agent asks)
KINDS = {"execute": "bash", "edit": "edit", "delete": "edit", "move": "edit", "read": "read",
         "search": "read", "fetch": "fetch"}
ALLOW_ONCE, ALLOW_ALWAYS, REJECT_ONCE, REJECT_ALWAYS = (
    "allow_once", "allow_always", "reject_once", "reject_always")


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    kind: str  # allow_once | allow_always | reject_once | reject_always


def command_of(raw_input: Any) -> str:
    """The command line of an execute request's raw input, where the agent gives one. An argv
    that only wraps a script in a shell (codex-acp 0.16: `["/bin/bash", "-lc", SCRIPT]`) is the
    script, as the agent's own approval screen shows it."""
    if not isinstance(raw_input, dict):
        return ""
    for key in ("command", "cmd", "commandLine"):
        value = raw_input.get(key)
        if isinstance(value, list):
            words = [str(v) for v in value]
            if (len(words) == 3 and Path(words[0]).name in SHELL_PROGRAMS
                    and words[1] in ("-c", "-lc")):
                return words[2]
            return " ".join(words)
        if value:
            return str(value)
    return ""


def prompt_for(cli: str, tool_call_id: str, kind: str | None, title: str | None,
               raw_input: Any, diffs: Sequence[Diff], paths: Sequence[str],
               options: Sequence[Option]) -> Prompt:
    """The queue's view of a permission request: what it asks, in one line, whole."""
    tool_kind = kind or "other"
    queue_kind = KINDS.get(tool_kind, "other")
    summary = ""
    if queue_kind == "bash":
        summary = command_of(raw_input)
    elif diffs:
        summary = diff_summary(list(diffs))
        if all(d.old is None for d in diffs):
            queue_kind = "write"
    elif paths:
        summary = ", ".join(paths)
    if not summary and isinstance(raw_input, dict):
        for key in ("file_path", "path", "url", "query"):
            if raw_input.get(key):
                summary = str(raw_input[key])
                break
    summary = " ".join((summary or title or tool_kind).split())
    scope = next((o.name for o in options if o.kind == ALLOW_ALWAYS), "")
    return Prompt(kind=queue_kind, summary=summary, allow="", deny="", agent=cli,
                  signature=f"acp:{tool_call_id}:" + json.dumps(raw_input, sort_keys=True,
                                                                default=str),
                  options=tuple((o.name, o.id) for o in options), always_scope=scope)


class Router(Protocol):
    """Where an ACP session's requests go: the approvals queue (`ApprovalQueue`)."""

    def hook_request(self, hook: Any) -> None: ...

    def hook_withdrawn(self, hook: Any, why: str) -> None: ...

    def refused(self, agent: str, kind: str, summary: str, why: str, via: str) -> None: ...


class AcpRequest:
    """One open `session/request_permission`, waiting in the queue as a hook's request waits:
    `reply` gives it its answer once (from whichever thread answers); `done` is called with the
    chosen option's id, or None for "cancelled"."""

    via = "acp"  # what the audit line says carried the answer

    def __init__(self, agent: str, cli: str, tool_call_id: str, prompt: Prompt,
                 options: Sequence[Option], done: Callable[[str | None], None]) -> None:
        self.agent, self.cli, self.prompt = agent, cli, prompt
        self.tool_call_id = tool_call_id
        self.options = tuple(options)
        self.offers_always = any(o.kind == ALLOW_ALWAYS for o in options)
        self.audit: dict[str, str] = {"tool_call_id": tool_call_id}
        self._done = done
        self._lock = threading.Lock()
        self._answered = False

    def alive(self) -> bool:
        return not self._answered

    def option_for(self, decision: str) -> Option | None:
        """The option that gives `decision`: allow / always / deny / "option N"."""
        if decision.startswith("option "):
            n = int(decision.split()[1])
            return self.options[n - 1] if 1 <= n <= len(self.options) else None
        wanted = {"allow": (ALLOW_ONCE, ALLOW_ALWAYS), "always": (ALLOW_ALWAYS,),
                  "deny": (REJECT_ONCE, REJECT_ALWAYS)}.get(decision, ())
        for kind in wanted:
            found = next((o for o in self.options if o.kind == kind), None)
            if found is not None:
                return found
        return None

    def reply(self, decision: str | None) -> bool:
        """Answer the agent: `decision` as one of its options, None: cancelled (no answer).
        False when it was answered (or withdrawn) already, or offers no such option."""
        option = self.option_for(decision) if decision is not None else None
        if decision is not None and option is None:
            return False
        with self._lock:
            if self._answered:
                return False
            self._answered = True
        if option is not None:
            self.audit["option"] = option.id
        self._done(option.id if option is not None else None)
        return True
