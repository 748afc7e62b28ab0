"""The compare screen (C): a fanout's candidates side by side — commits, files, +/−, checks,
conflicts with agents outside the group, usage and time taken — the review screen on any of
them (Enter or r), and K to keep one: merged as `merge` does, its siblings removed (refused
while one holds uncommitted work: the message says which and what)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agentdeck.core.deck import Deck
from agentdeck.core.engine.candidates import (
    Candidate,
    Comparison,
    Group,
    Groups,
    compare,
    keep,
)
from agentdeck.core.errors import AgentdeckError
from agentdeck.ui.layout import DeckFooter
from agentdeck.ui.screens.confirm import Confirm

MARKS = {"pass": "✔", "fail": "✖", "running": "…", "stale": "~"}
COLUMNS = ("candidate", "agent", "commits", "files", "+/−", "checks", "conflicts", "used",
           "took")


def group_for(deck: Deck, name: str | None) -> Group | None:
    """The fanout the agent is a candidate of, else the newest fanout (blocking: a file)."""
    groups = Groups(deck.ctx.state_dir).load()
    mine = next((g for g in groups.values() if name in g.agents), None)
    return mine or max(groups.values(), key=lambda g: g.created, default=None)


class CompareScreen(Screen[None]):
    DEFAULT_CSS = """
    CompareScreen #compare-head { height: auto; padding: 0 1; background: $panel; }
    CompareScreen #compare-table { height: 1fr; }
    CompareScreen #compare-notes { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r,enter", "review", "review", id="compare-review",
                tooltip="Review the highlighted candidate: its diff, conflicts, merge"),
        Binding("K", "keep", "keep", id="compare-keep",
                tooltip="Keep the highlighted candidate: merge it, remove its siblings"),
        Binding("g", "reload", "refresh", id="compare-reload", show=False,
                tooltip="Look at the candidates again"),
        Binding("escape", "close", "back", id="compare-close"),
    ]

    class Kept(Message):
        """A candidate was kept: its siblings are gone."""

        def __init__(self, name: str, removed: list[str]) -> None:
            super().__init__()
            self.name, self.removed = name, removed

    def __init__(self, deck: Deck, group: Group) -> None:
        super().__init__()
        self.deck, self.group = deck, group
        self.found: list[Candidate] = []

    def compose(self) -> ComposeResult:
        yield Static(f"[b]compare {self.group.base}[/b] · {self.group.task}", id="compare-head",
                     markup=True)
        yield DataTable(id="compare-table", cursor_type="row")
        yield Static("", id="compare-notes")
        yield DeckFooter()

    def on_mount(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label)
        table.focus()
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _load(self) -> None:
        infos = {i.name: i for i in self.deck.host.sessions()}
        usage = {n: {"tokens_in": i.tokens_in, "tokens_out": i.tokens_out, "cost": i.cost}
                 for n, i in infos.items()}
        try:
            found = compare(self.deck.ctx, self.group, usage)
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show, found)

    def _show(self, compared: Comparison) -> None:
        self.found = found = compared.candidates
        table = self.query_one("#compare-table", DataTable)
        table.clear()
        for c in found:
            checks = " ".join(f"{MARKS.get(str(r['status']), '?')}{r['name']}"
                              for r in c.checks) or "-"
            used = "-"
            if c.usage and (c.usage.get("tokens_in") or c.usage.get("tokens_out")):
                tokens = int(c.usage.get("tokens_in") or 0) + int(c.usage.get("tokens_out") or 0)
                cost = c.usage.get("cost")
                used = f"{tokens} tok" + (f" ${float(cost):.2f}" if cost is not None else "")
            took = f"{c.seconds / 60:.1f} min" if c.seconds is not None else "-"
            table.add_row(c.name, c.agent, str(c.commits), str(c.files),
                          f"+{c.added} −{c.removed}", checks, "; ".join(c.conflicts) or "-",
                          used, took, key=c.name)
        notes = [f"{c.name}: {c.uncommitted} uncommitted change(s), not compared"
                 for c in found if c.uncommitted]
        passing = [c.name for c in found if c.checks
                   and all(r["status"] == "pass" for r in c.checks)]
        if passing:
            notes.append(f"passing every check: {', '.join(passing)}")
        if not found:
            notes.append("no candidate left")
        notes += [f"merge order with the others: {' → '.join(order)}"
                  for order in compared.orders]
        self.query_one("#compare-notes", Static).update("\n".join(notes))

    @property
    def highlighted(self) -> str | None:
        table = self.query_one("#compare-table", DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value) if key.value else None

    @on(DataTable.RowSelected, "#compare-table")
    def _chosen(self) -> None:
        self.action_review()

    def action_review(self) -> None:
        name = self.highlighted
        rec = next((r for r in self.deck.records if r.name == name), None)
        if rec is not None:
            from agentdeck.ui.screens.review import ReviewScreen

            self.app.push_screen(ReviewScreen(self.deck, rec, list(self.deck.records)))

    def action_keep(self) -> None:
        name = self.highlighted
        if name is None:
            return
        others = [c.name for c in self.found if c.name != name]

        def answered(yes: bool | None) -> None:
            if yes:
                self._keep(name)

        self.app.push_screen(Confirm(
            f"keep {name}?", f"{name} is merged as `agentdeck merge` does; "
            f"{', '.join(others) or 'no sibling'} are removed (worktree, branch, port, "
            "database, fleet entry). A sibling with uncommitted work stops it."), answered)

    @work(thread=True, group="keep", exit_on_error=False)
    def _keep(self, name: str) -> None:
        said: list[str] = []
        try:
            status = keep(self.deck.ctx, self.deck.fleet, name, self.deck.host,
                          lambda agent, line: said.append(f"{agent}: {line}"))
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=15)
            return
        removed = [c.name for c in self.found if c.name != name
                   and not any(line.startswith(f"{c.name}: error") for line in said)]
        self.app.call_from_thread(self.notify, "\n".join(said), timeout=15,
                                  severity="warning" if status else "information")
        self.post_message(self.Kept(name, removed))
        self._load()

    def action_close(self) -> None:
        self.app.pop_screen()
