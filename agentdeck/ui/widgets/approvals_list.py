"""ApprovalsList: every pending permission prompt, oldest first, and the latest decisions."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Button, DataTable, Label, Static

from agentdeck.core.oversight.approvals import Decision, Entry
from agentdeck.ui import layout

KIND_STYLE = {"bash": "bold yellow", "edit": "bold cyan", "write": "bold cyan",
              "fetch": "bold magenta", "mcp": "bold blue", "other": "bold"}


def age(entry: Entry, now: float) -> str:
    seconds = int(now - entry.created)
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m{seconds % 60:02d}s"


def summary_text(entry: Entry) -> Text:
    """The request; what `a` (allow always) would cover, where the agent says so — it is
    wider than the request ("npm test:* commands"); for a menu, its options with the digit
    that picks each."""
    text = Text(entry.summary)
    if entry.prompt.allow_always and entry.prompt.always_scope:
        text.append(f"  [a always: {entry.prompt.always_scope}]", style="dim")
    if entry.prompt.options:
        picks = " · ".join(f"{n} {label}" for n, (label, _) in
                           enumerate(entry.prompt.options, 1))
        text.append(f"  [{picks}]", style="dim")
    return text


def short_age(entry: Entry, now: float) -> str:
    """The age in at most four characters (9s, 12m, 3h): a phone's row has no room to spare."""
    seconds = max(0, int(now - entry.created))
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def two_lines(head: Text, body: Text, width: int, console: Console) -> Text:
    """`head` then `body`, wrapped at `width`: whole when that fits in two lines, else with
    the middle of `body` left out ("…"), so its start (the command) and its end (the file,
    the question) still read. The selected request is written out whole under the table."""
    def joined(cut: Text) -> Text:
        return Text.assemble(head, " ", cut)

    whole = joined(body)
    if width < 4 or len(whole.wrap(console, width)) <= 2:
        return whole
    # (two lines hold at most 2 x width characters: no need to try more, however long the
    # request — a heredoc may be thousands)
    keep = min(len(body.plain), 2 * width - len(head.plain))
    while keep > 1:
        keep -= 1
        front = keep - keep // 3
        cut = Text.assemble(body[:front], "…", body[len(body.plain) - (keep - front):])
        text = joined(cut)
        if len(text.wrap(console, width)) <= 2:
            return text
    return joined(Text("…"))


def who(entry: Entry) -> str:
    """The agent that asks, and its host when it is another machine's (agent@host)."""
    return f"{entry.agent}@{entry.host}" if entry.host else entry.agent


class ApprovalsList(Vertical):
    """y allow once · a allow always · n deny · Enter jump to the agent's pane.

    What it shows is reactive state bound to the app's: the pending entries, oldest first,
    and the latest decisions; a change redraws the rows that changed."""

    DEFAULT_CSS = """
    ApprovalsList { height: 1fr; border: round $warning; border-title-color: $warning; }
    /* no sideways scrollbar: a request the columns cut is written out whole under them */
    ApprovalsList #approval-table { height: 1fr; overflow-x: hidden; }
    ApprovalsList #approval-history { height: auto; max-height: 6; color: $text-muted; }
    ApprovalsList #approval-empty { color: $text-muted; padding: 0 1; }
    ApprovalsList #approval-detail { height: auto; padding: 0 1; }
    ApprovalsList #approval-detail.-none { display: none; }
    /* a phone: buttons a thumb can hit (the screen's layout shows them) */
    ApprovalsList #answer-bar { height: 3; display: none; }
    ApprovalsList #answer-bar Button { width: 1fr; min-width: 8; margin: 0 1 0 0; }
    /* in a browser (`agentdeck serve`: -web) the buttons show in every layout: a tap or a
       click answers, each button three rows (44 CSS px and more) tall; in a one-pane layout
       at the queue's bottom, where a long request never pushes them out of sight */
    ApprovalsList.-web.-pending #answer-bar { display: block; }
    ApprovalsList.-web.-compact #answer-bar { dock: bottom; }
    /* two-line rows (see _compact): the scrollbar takes one column, not two */
    ApprovalsList.-compact #approval-table { scrollbar-size-vertical: 1; }
    """
    entries: reactive[tuple[Entry, ...]] = reactive(tuple, init=False)
    decisions: reactive[tuple[Decision, ...]] = reactive(tuple, init=False)

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock  # the queue's: ages are measured as the queue measures them
        self.border_title = "approvals"
        # the table's shape as last built: None (columns), or the width of its one request
        # column (two-line rows, see _compact)
        self._shape: int | None = None

    def compose(self) -> ComposeResult:
        table: DataTable[object] = DataTable(id="approval-table", cursor_type="row")
        yield table
        yield Label("no prompt is waiting", id="approval-empty")
        # the selected request written out whole, where the table's columns cut it
        yield Static(id="approval-detail")
        with Horizontal(id="answer-bar"):
            yield Button("allow", id="answer-allow", variant="success")
            yield Button("always", id="answer-always", variant="primary")
            yield Button("deny", id="answer-deny", variant="error")
        yield Static(id="approval-history")

    def on_mount(self) -> None:
        self.set_class(self.app.has_class("-web"), "-web")
        table = self.query_one("#approval-table", DataTable)
        for label in ("age", "agent", "kind", "summary"):
            table.add_column(label, key=label)
        # ages tick while a prompt waits; an empty queue costs no wakeups
        self._ages = self.set_interval(1.0, self.refresh_ages, pause=True)
        self.watch_entries((), self.entries)
        self.watch_decisions(self.decisions)

    def watch_entries(self, old: tuple[Entry, ...], new: tuple[Entry, ...]) -> None:
        if not self.is_mounted:
            return
        table = self.query_one("#approval-table", DataTable)
        selected = self._selected_key(table)
        shape = self._wanted_shape()
        if shape is not None or self._shape is not None:
            self._rebuild(new, selected, shape)
        else:
            self._update_rows(table, old, new)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        self.border_title = f"approvals ({len(new)})" if new else "approvals"
        self.query_one("#approval-empty").display = not new
        self.set_class(bool(new), "-pending")
        if new:
            self._ages.resume()
        else:
            self._ages.pause()
        self._show_detail()

    def _update_rows(self, table: DataTable[object], old: tuple[Entry, ...],
                     new: tuple[Entry, ...]) -> None:
        """The columns' rows: those that left removed, new ones added, changed ones redrawn."""
        wanted = {str(e.id) for e in new}
        for key in [k for k in table.rows if k.value not in wanted]:
            table.remove_row(key)
        before = {e.id: e for e in old}
        now = self.clock()
        for entry in new:
            kind = Text(entry.kind, style=KIND_STYLE.get(entry.kind, ""))
            summary = summary_text(entry)
            if str(entry.id) not in table.rows:
                table.add_row(age(entry, now), who(entry), kind, summary, key=str(entry.id))
            elif before.get(entry.id) != entry:  # e.g. the agent's hook joined: its words
                table.update_cell(str(entry.id), "kind", kind, update_width=True)
                table.update_cell(str(entry.id), "summary", summary, update_width=True)

    # -- two-line rows ---------------------------------------------------------------------
    def _compact(self) -> bool:
        """A phone's layout, or a narrow one in a browser: each entry one row of two lines,
        its request across the table's whole width (every summary reads whole within two
        lines, and a row is a target a thumb can tap) instead of columns that cut it."""
        # (from the window's width, as the screen's breakpoint classes are: those may be
        # set after this widget's resize)
        mode = layout.mode_for(self.app.size.width)
        return mode == "-phone" or (mode == "-narrow" and self.app.has_class("-web"))

    def _wanted_shape(self) -> int | None:
        """The request column's width the table should have now; None: columns."""
        if not self._compact():
            return None
        table = self.query_one("#approval-table", DataTable)
        # (the table's width less the scrollbar's column and the cell's padding)
        width = (table.size.width or self.size.width - 2) - 1 - 2 * table.cell_padding
        return max(width, 8)

    def _rebuild(self, entries: tuple[Entry, ...], selected: str | None,
                 shape: int | None) -> None:
        """The table built anew in `shape` (from columns to two-line rows, or the other way,
        or at another width)."""
        table = self.query_one("#approval-table", DataTable)
        self._shape = shape
        self.set_class(shape is not None, "-compact")
        table.clear(columns=True)
        table.show_header = shape is None
        if shape is None:
            for label in ("age", "agent", "kind", "summary"):
                table.add_column(label, key=label)
            self._update_rows(table, (), entries)
        else:
            table.add_column("request", key="request", width=shape)
            now = self.clock()
            for entry in entries:
                table.add_row(self._two_line(entry, now), key=str(entry.id), height=2)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        # its height anew once it has measured its new rows (an auto height kept the old
        # rows' lines: a blank line under the columns after a phone's two-line rows)
        self.call_after_refresh(table.refresh, layout=True)

    def _two_line(self, entry: Entry, now: float) -> Text:
        head = Text.assemble((short_age(entry, now), "dim"), " ", (who(entry), "bold"), " ",
                             (entry.kind, KIND_STYLE.get(entry.kind, "")))
        return two_lines(head, summary_text(entry), self._shape or 8, self.app.console)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        if not self.is_mounted:
            return
        shape = self._wanted_shape()
        if shape != self._shape:
            table = self.query_one("#approval-table", DataTable)
            self._rebuild(self.entries, self._selected_key(table), shape)
            self._show_detail()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        decision = (event.button.id or "").removeprefix("answer-")
        if decision in ("allow", "always", "deny"):
            event.stop()
            await self.screen.run_action(f"answer('{decision}')")

    def on_data_table_row_highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        entry = self.selected
        detail = self.query_one("#approval-detail", Static)
        detail.set_class(entry is None, "-none")  # (a class: the layout may hide it too)
        if entry is not None:
            detail.update(Text.assemble((who(entry), "bold"), " · ",
                                        (entry.kind, KIND_STYLE.get(entry.kind, "")), " · ",
                                        summary_text(entry)))

    def watch_decisions(self, decisions: tuple[Decision, ...]) -> None:
        if not self.is_mounted:
            return
        lines = []
        for record in decisions[-4:]:
            by = "" if record.by == "key" else f" ({record.by})"
            by += " via hook" if record.via == "hook" else ""
            lines.append(f"{record.at[11:19]} {who(record.entry)}: {record.decision} "
                         f"{record.entry.kind} {record.entry.summary[:40]}{by}")
        self.query_one("#approval-history", Static).update("\n".join(lines))

    def refresh_ages(self) -> None:
        table = self.query_one("#approval-table", DataTable)
        now = self.clock()
        for entry in self.entries:
            if str(entry.id) not in table.rows:
                continue
            if self._shape is not None:
                table.update_cell(str(entry.id), "request", self._two_line(entry, now))
            else:
                table.update_cell(str(entry.id), "age", age(entry, now), update_width=True)

    @staticmethod
    def _selected_key(table: DataTable[object]) -> str | None:
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value)

    @property
    def selected(self) -> Entry | None:
        """The entry under the cursor, else the oldest one."""
        pending = {str(e.id): e for e in self.entries}
        key = self._selected_key(self.query_one("#approval-table", DataTable))
        return pending.get(key or "") or next(iter(pending.values()), None)
