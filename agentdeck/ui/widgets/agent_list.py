"""AgentList: the sidebar table of agents: branch, worktree, port, database and live state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from agentdeck.core.agents.sessions import SessionInfo
from agentdeck.core.deck import AgentSummary
from agentdeck.core.fleet.views import limit_text

STATE_LOOK = {
    "working": ("● working", "green"),
    "waiting": ("▲ waiting", "bold black on yellow"),
    "idle": ("○ idle", "cyan"),
    "rate-limited": ("⏸ rate-limited", "magenta"),
    "exited": ("■ exited", "dim"),
    "failed": ("✖ failed", "bold red"),
    "stopped": ("■ stopped", "dim"),
    # its host's ssh link is down: the agent goes on there, unseen until it reconnects
    "disconnected": ("⌁ disconnected", "bold magenta"),
}


@dataclass
class AgentRow(AgentSummary):
    """An agent as the list shows it: what the deck knows, plus its live state."""

    state: str = "stopped"
    detail: str = ""  # exit code, reset time, error
    radar: str = ""  # conflicts predicted with other agents, forbidden paths, behind-by
    checks: str = ""  # its checks' chips: ✔tests ✖lint …running ~stale (ui/checks.py)
    error: str = ""  # why it failed to start (the detail line says it whole)
    usage: str = ""  # tokens and cost so far, "over budget (…)" once it crossed its budget


def live_row(row: AgentRow, info: SessionInfo, asking: bool, held: int) -> AgentRow:
    """`row` as the agent's session says it is now; `asking`: a request of it is in the queue;
    `held`: messages to it held until its prompt is answered. (Equal to `row` if unchanged.)"""
    state = info.state
    if info.process == "running" and info.state != "disconnected" and asking:
        state = "waiting"  # a hook may be asking while the screen still shows work
    detail = ""
    if info.state == "exited" and info.exit_code is not None:
        detail = f"({info.exit_code})"
    elif info.state == "rate-limited":  # retrying 2/10, gave up: 429, resets 3pm
        detail = limit_text(info.detection.reset, info.detection.detail)
    if held:  # messages waiting for its prompt to be answered
        detail = f"{detail} ✉{held} held".strip()
    error = (info.error or "") if info.state == "failed" else ""
    if (row.state, row.detail, row.error, row.usage) == (state, detail, error, info.usage):
        return row
    return replace(row, state=state, detail=detail, error=error, usage=info.usage)


def state_text(row: AgentRow) -> Text:
    label, style = STATE_LOOK.get(row.state, (row.state, ""))
    if row.detail:
        label = f"{label} {row.detail}"
    return Text(label, style=style)


COLUMNS = ("agent", "state", "branch", "port", "db", "worktree", "radar")
# where any agent has checks (the fleet's `checks:`), their chips come after its state
WITH_CHECKS = ("agent", "state", "checks", *COLUMNS[2:])
# left out in this order while the table is wider than its room (AgentDetail has them all)
DROPPED_FIRST = ("worktree", "db", "branch", "port")


def fit_columns(widths: dict[str, int], room: int, checks: bool = False) -> tuple[str, ...]:
    """The columns that fit in `room` cells, given each one's width: the agent, its state and
    the radar always, its checks' chips where any agent has some; the others while they
    fit."""
    shown = list(WITH_CHECKS if checks else COLUMNS)
    for key in DROPPED_FIRST:
        if sum(widths[k] for k in shown) <= room:
            break
        shown.remove(key)
    return tuple(shown)


CHIP_LOOK = {"✔": "green", "✖": "bold red", "…": "cyan", "~": "dim"}


def checks_text(chips: str) -> Text:
    """The chips coloured: passed green, failed red, running cyan, stale dim."""
    text = Text()
    for i, chip in enumerate(chips.split()):
        text.append(" " if i else "")
        text.append(chip, style=CHIP_LOOK.get(chip[:1], ""))
    return text


class AgentList(DataTable[object]):
    """One row per agent; the selected row is the agent the pane keys act on. Space marks
    agents for a broadcast message (shown with ✓). Its rows are reactive state (bound to the
    app's): a changed agent redraws its own row, nothing else."""

    DEFAULT_CSS = """
    /* no sideways scrollbar: AgentDetail writes the selected agent's values out whole */
    AgentList { height: auto; max-height: 60%; overflow-x: hidden; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "mark", id="mark",
                tooltip="Mark the agent for a broadcast message (M)"),
    ]
    agents: reactive[dict[str, AgentRow]] = reactive(dict, init=False)
    marked: reactive[frozenset[str]] = reactive(frozenset, init=False)
    # the columns there is room for (AgentDetail writes the selected agent's others out)
    shown: reactive[tuple[str, ...]] = reactive(COLUMNS, init=False)

    def action_toggle_mark(self) -> None:
        name = self.selected
        if name is not None:
            self.marked = self.marked ^ {name}

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._columns()

    def _columns(self) -> None:
        for key in self.shown:
            self.add_column(key, key=key)
        self.watch_agents({}, self.agents)

    def watch_shown(self) -> None:
        selected = self.selected
        self.clear(columns=True)
        self._columns()
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def watch_agents(self, old: dict[str, AgentRow], new: dict[str, AgentRow]) -> None:
        if not self.columns:
            return  # not mounted yet: on_mount draws them all
        for name in [n for n in old if n not in new and n in self.rows]:
            self.remove_row(name)
        for name, row in new.items():
            if old.get(name) != row or name not in self.rows:
                self._draw(row)
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Show the columns the sidebar has room for, by what they hold now."""
        if not self.size.width:
            return
        pad = 2 * self.cell_padding
        widths = {key: len(key) + pad for key in WITH_CHECKS}
        for row in self.agents.values():
            for key, cell in self._cells(row).items():
                width = cell.cell_len if isinstance(cell, Text) else cell_len(cell)
                widths[key] = max(widths[key], width + pad)
        self.shown = fit_columns(widths, self.size.width,
                                 any(row.checks for row in self.agents.values()))

    def watch_marked(self, old: frozenset[str], new: frozenset[str]) -> None:
        for name in old ^ new:
            if name in self.agents:
                self._draw(self.agents[name])

    def _cells(self, row: AgentRow) -> dict[str, Text | str]:
        mark = "✓ " if row.name in self.marked else ""
        name = Text(mark + row.name + (" ★" if row.role == "lead" else ""), style="bold")
        if row.host:
            name.append(f"@{row.host}", style="dim")
        if row.sandbox:  # fenced in (core/agents/sandbox.py): the detail line says how
            name.append(" ▣")
        radar = Text(row.radar, style="bold red" if row.radar.startswith("⚠") else "yellow")
        return dict(zip(WITH_CHECKS, (name, state_text(row), checks_text(row.checks), row.branch,
                                  row.port, row.database, row.worktree, radar), strict=True))

    def _draw(self, row: AgentRow) -> None:
        every = self._cells(row)
        cells = {key: every[key] for key in self.shown}
        if row.name in self.rows:
            for key, value in cells.items():
                self.update_cell(row.name, key, value, update_width=True)
        else:
            self.add_row(*cells.values(), key=row.name)

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return key.value


class AgentDetail(Static):
    """The selected agent's every value written out whole (wrapping, never cut): what a narrow
    table leaves out, and what a wide one may cut at the sidebar's edge."""

    DEFAULT_CSS = """
    AgentDetail { height: auto; color: $text-muted; padding: 0 1; }
    """
    agents: reactive[dict[str, AgentRow]] = reactive(dict, init=False, layout=True)
    selected: reactive[str | None] = reactive(None, init=False, layout=True)

    def render(self) -> Text:
        row = self.agents.get(self.selected or "")
        if row is None:
            return Text("")
        text = Text.assemble((row.name, "bold"), " ", state_text(row))
        for label, value in (("branch", row.branch), ("port", row.port),
                             ("db", row.database), ("worktree", row.worktree),
                             ("", row.sandbox), ("used", row.usage)):
            if value and value != "-":
                text.append(f" · {label} " if label else " · ")
                text.append(str(value), style="")
        if row.checks:
            text.append(" · checks ")
            text.append_text(checks_text(row.checks))
        if row.radar:
            text.append(f" · {row.radar}", style="bold red" if row.radar.startswith("⚠")
                        else "yellow")
        if row.error:
            text.append(f" · {row.error}", style="bold red")
        return text
