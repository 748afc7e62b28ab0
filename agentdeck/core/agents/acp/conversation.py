"""An ACP agent's conversation as data: its messages, its plan, its tool calls as cards with
their status, output and diffs — what its pane lays out (at any size: agentdeck wraps it, not
the agent) and what travels to a dashboard attached to the session host (`to_wire`).

Plain data, no SDK: the session (session.py) turns the protocol's updates into these calls,
and a dashboard on the other side of the daemon's socket reads the wire form without pydantic.
Each change also returns a line or two of plain text for the agent's log — the terminal grid,
its transcript and `agentdeck logs` — which only ever grows.

Each item carries the version that last changed it, so a pane that holds the conversation as of
version N is sent only what changed since (`changes`) and merges it (`merge`); items are only
ever added or changed in place, never removed. A conversation anew (the agent restarted) has
another `id`: a pane holding the old one takes the new one whole.
"""

from __future__ import annotations

import difflib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_TEXT = 200_000  # characters of one message or output kept (the start is dropped)


@dataclass
class Diff:
    path: str
    old: str | None  # None: a new file
    new: str

    def counts(self) -> tuple[int, int]:
        """Lines added and removed."""
        added = removed = 0
        for line in difflib.unified_diff((self.old or "").splitlines(),
                                         self.new.splitlines(), lineterm="", n=0):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        return added, removed

    def lines(self) -> list[str]:
        """The change as unified diff lines, without its headers."""
        return [line for line in difflib.unified_diff(
            (self.old or "").splitlines(), self.new.splitlines(), lineterm="", n=1)
            if not line.startswith(("---", "+++"))]


@dataclass
class ToolCard:
    id: str
    title: str
    kind: str = "other"  # the protocol's ToolKind: execute, edit, read, fetch, …
    status: str = "pending"  # pending | in_progress | completed | failed
    output: str = ""  # its text content (and its terminals' output, once they end)
    diffs: list[Diff] = field(default_factory=list)
    terminals: list[str] = field(default_factory=list)  # ids of terminals it shows
    paths: list[str] = field(default_factory=list)  # the files it touches (locations)


@dataclass
class Item:
    role: str  # user | agent | thought | tool | note
    text: str = ""
    tool: ToolCard | None = None
    v: int = 0  # the conversation's version when it last changed


@dataclass
class PlanStep:
    content: str
    status: str = "pending"  # pending | in_progress | completed
    priority: str = "medium"


class Conversation:
    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.items: list[Item] = []
        self.plan: list[PlanStep] = []
        self.plan_v = 0
        self.tools: dict[str, ToolCard] = {}
        self.terminal_output: dict[str, str] = {}
        self.version = 0

    # -- changes (each returns the text it adds to the agent's log) ---------------------------
    def _add(self, item: Item) -> None:
        item.v = self.version
        self.items.append(item)

    def _chunk(self, role: str, text: str) -> str:
        self.version += 1
        last = self.items[-1] if self.items else None
        if last is not None and last.role == role:
            last.text = (last.text + text)[-MAX_TEXT:]
            last.v = self.version
            return text
        self._add(Item(role, text))
        mark = {"user": "\n› ", "agent": "\n", "thought": "\n(thinking) "}.get(role, "\n")
        return mark + text

    def user(self, text: str) -> str:
        return self._chunk("user", text) + "\n"

    def agent(self, text: str) -> str:
        return self._chunk("agent", text)

    def thought(self, text: str) -> str:
        return self._chunk("thought", text)

    def note(self, text: str) -> str:
        """Something agentdeck says in the conversation (an error, a refused write)."""
        self.version += 1
        self._add(Item("note", text))
        return f"\n[agentdeck] {text}\n"

    def tool(self, tool_id: str, title: str | None = None, kind: str | None = None,
             status: str | None = None, output: str | None = None,
             diffs: list[Diff] | None = None, terminals: list[str] | None = None,
             paths: list[str] | None = None) -> str:
        """A tool call started or updated (what is None stays as it was)."""
        self.version += 1
        card = self.tools.get(tool_id)
        new = card is None
        if card is None:
            card = self.tools[tool_id] = ToolCard(tool_id, title or "tool")
            self._add(Item("tool", tool=card))
        else:
            self._touch(lambda t: t.id == tool_id)
        was = card.status
        if title:
            card.title = title
        if kind:
            card.kind = kind
        if status:
            card.status = status
        if output is not None:
            card.output = output[-MAX_TEXT:]
        if diffs:
            card.diffs = diffs
        if terminals:
            card.terminals = list(dict.fromkeys([*card.terminals, *terminals]))
        if paths:
            card.paths = paths
        if new:
            return f"\n⏺ {card.title} [{card.kind}] {card.status}\n"
        if card.status != was:
            return f"  ⎿ {card.title}: {card.status}\n"
        return ""

    def _touch(self, which: Any) -> None:
        """The cards `which(card)` picks changed (at this version)."""
        for item in self.items:
            if item.tool is not None and which(item.tool):
                item.v = self.version

    def terminal_ended(self, terminal_id: str, output: str) -> str:
        self.version += 1
        self.terminal_output[terminal_id] = output[-MAX_TEXT:]
        self._touch(lambda t: terminal_id in t.terminals)  # (its output shows in their cards)
        return "".join(f"  │ {line}\n" for line in output.splitlines()[-20:])

    def set_plan(self, steps: list[PlanStep]) -> str:
        self.version += 1
        self.plan, self.plan_v = steps, self.version
        return "\nplan:\n" + "".join(f"  {mark(s.status)} {s.content}\n" for s in steps)

    def outputs(self, card: ToolCard) -> str:
        """What a card shows as its output: its text, then its terminals'."""
        parts = [card.output] + [self.terminal_output.get(t, "") for t in card.terminals]
        return "\n".join(p for p in parts if p)

    # -- the wire ----------------------------------------------------------------------------
    def to_wire(self) -> dict[str, Any]:
        """The whole conversation (`changes` takes what changed since a version from it)."""
        return {"id": self.id, "version": self.version, "since": 0, "count": len(self.items),
                "plan": [asdict(s) for s in self.plan], "plan_v": self.plan_v,
                "terminal_output": dict(self.terminal_output),
                "items": [{"i": n, "v": i.v, "role": i.role, "text": i.text,
                           "tool": asdict(i.tool) if i.tool is not None else None}
                          for n, i in enumerate(self.items)]}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Conversation:
        conv = cls()
        conv.id = str(data.get("id", conv.id))
        if not conv.merge({**data, "since": 0}):
            raise ValueError("a conversation's changes, not the whole of it")
        return conv

    def merge(self, data: dict[str, Any]) -> bool:
        """Take what changed since version `data["since"]` (`changes`): False when this is
        not the conversation it changed (another id, or not as of that version) — then the
        whole of it is to be fetched."""
        since = int(data.get("since", 0))
        if since and (data.get("id") != self.id or since != self.version):
            return False
        if not since:  # the whole of it
            self.items, self.tools, self.terminal_output = [], {}, {}
            self.plan, self.plan_v = [], 0
        self.id = str(data.get("id", self.id))
        self.version = int(data.get("version", 0))
        if "plan" in data:
            self.plan = [PlanStep(**s) for s in data["plan"]]
            self.plan_v = int(data.get("plan_v", 0))
        self.terminal_output.update(data.get("terminal_output", {}))
        for raw in data.get("items", []):
            tool = raw.get("tool")
            card = None
            if tool is not None:
                card = ToolCard(**{**tool, "diffs": [Diff(**d) for d in tool.get("diffs", [])]})
                self.tools[card.id] = card
            item = Item(raw["role"], raw.get("text", ""), card, int(raw.get("v", 0)))
            n = int(raw.get("i", len(self.items)))
            if n < len(self.items):
                self.items[n] = item
            elif n == len(self.items):
                self.items.append(item)
            else:
                return False  # (a gap: not the changes of what this holds)
        return len(self.items) == int(data.get("count", len(self.items)))


def conversation_since(host: Any, name: str, since: int) -> dict[str, Any] | None:
    """What changed in `name`'s conversation after version `since`, from a SessionHost: a
    daemon's client is sent only that (`conversation_since`); the in-process host hands the
    whole and the changes are taken from it here."""
    ask = getattr(host, "conversation_since", None)
    if ask is not None:
        return ask(name, since)
    wire = host.conversation(name)
    return changes(wire, since) if wire is not None else None


def changes(wire: dict[str, Any], since: int) -> dict[str, Any]:
    """Of a conversation's wire form, what changed after version `since` (0: all of it): the
    items changed since, the plan if it did, the terminal outputs its changed cards show."""
    if since <= 0 or since > int(wire.get("version", 0)):
        return wire
    items = [i for i in wire["items"] if i["v"] > since]
    shown = {t for i in items if i.get("tool") for t in i["tool"].get("terminals", [])}
    out = {**wire, "since": since, "items": items,
           "terminal_output": {t: o for t, o in wire.get("terminal_output", {}).items()
                               if t in shown}}
    if int(wire.get("plan_v", 0)) <= since:
        del out["plan"]
    return out


def mark(status: str) -> str:
    """A plan step's or a tool call's status as one character."""
    return {"completed": "✓", "in_progress": "▸", "failed": "✗"}.get(status, "·")


def diff_summary(diffs: list[Diff]) -> str:
    """"notes.txt (+1 -0), src/app.py (+3 -1)": the files a change touches, how much."""
    parts = []
    for d in diffs:
        added, removed = d.counts()
        parts.append(f"{d.path} (new, +{added})" if d.old is None
                     else f"{d.path} (+{added} -{removed})")
    return ", ".join(parts)
