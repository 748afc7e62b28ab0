"""The review screen (r): an agent's changed files beside its diff against its base, the
conflict radar's findings for it, feedback sent to it as a message, and merge."""

from __future__ import annotations

import contextlib
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from agentdeck.core.agents import remote
from agentdeck.core.agents.launch import is_shell
from agentdeck.core.deck import Deck
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.git import review
from agentdeck.core.git.diffparse import FileDiff, parse
from agentdeck.ui.layout import DeckFooter
from agentdeck.ui.screens.confirm import Confirm
from agentdeck.ui.screens.message import MessageDialog
from agentdeck.ui.widgets.diff_view import DiffView

BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # the file list shows beside the diff from 100


class ReviewScreen(Screen[None]):
    DEFAULT_CSS = """
    ReviewScreen #review-head { height: auto; padding: 0 1; background: $panel; }
    ReviewScreen #review-body { height: 1fr; }
    ReviewScreen #review-files { width: 40; height: 1fr; border-right: vkey $panel-lighten-1; }
    ReviewScreen #review-diff { width: 1fr; height: 1fr; }
    ReviewScreen.-narrow #review-files { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "hunk(True)", "next hunk", id="review-next-hunk"),
        Binding("p", "hunk(False)", "prev hunk", id="review-prev-hunk"),
        Binding("right_square_bracket", "file(True)", "next file", key_display="]"),
        Binding("left_square_bracket", "file(False)", "prev file", key_display="["),
        Binding("u", "toggle_uncommitted", "uncommitted", id="review-uncommitted"),
        Binding("c", "request_changes", "comment", id="review-feedback",
                tooltip="Send the agent feedback anchored to the line under the cursor"),
        Binding("M", "merge", "merge", id="review-merge"),
        Binding("D", "cleanup", "clean up", id="review-cleanup"),
        Binding("escape", "close", "back", id="review-close"),
    ]
    # (not annotated: Textual's `ClassVar[…] | None` reads to mypy as an instance variable)
    HORIZONTAL_BREAKPOINTS = BREAKPOINTS

    class Merged(Message):
        """The agent's branch was merged."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Removed(Message):
        """The agent was cleaned up: worktree, branch, database, port."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, deck: Deck, rec: AgentRecord, records: list[AgentRecord]) -> None:
        super().__init__()
        self.deck, self.rec, self.records = deck, rec, records
        self.uncommitted = False
        self.files: list[FileDiff] = []
        self.merged_into: str | None = None  # set by a merge here: D judges the branch by it
        self.radar: review.Radar | None = None  # once the conflict radar looked
        self.checks = ""  # its checks' chips (✔tests ✖lint), read with the radar

    def compose(self) -> ComposeResult:
        yield Static(f"[b]review {self.rec.name}[/b] · {self.rec.branch}", id="review-head")
        with Horizontal(id="review-body"):
            with Vertical(id="review-files"):
                yield DataTable(id="review-file-table", cursor_type="row")
            yield DiffView(id="review-diff")
        yield DeckFooter()

    def on_resize(self, event: events.Resize) -> None:
        # a narrow window's footer keeps the actions; `?` lists the moves too
        narrow = event.size.width < 110
        self.query_one(DeckFooter).fit(frozenset({"hunk", "file"}) if narrow else frozenset(),
                                       compact=narrow)

    def on_mount(self) -> None:
        table = self.query_one("#review-file-table", DataTable)
        for label in ("", "file", "+", "−"):
            table.add_column(label, key=label or "status")
        self._load()
        self._scan()
        # the keys move the diff's line cursor from the start (the file list, hidden in a
        # narrow window, follows it; Tab or a click reaches it)
        self.query_one(DiffView).focus()

    # -- loading (git in threads) -------------------------------------------------------------
    @work(thread=True, exclusive=True, group="review-diff", exit_on_error=False)
    def _load(self) -> None:
        ctx, rec = self.deck.ctx, self.rec
        try:
            if rec.host:  # another host's agent: its git runs there
                text = remote.diff_there(self.deck.fleet, rec.host, rec.name, self.uncommitted)
            else:
                text = review.diff(ctx, rec, uncommitted=self.uncommitted)
            files = parse(text)
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show, files)

    def _show(self, files: list[FileDiff]) -> None:
        self.files = files
        table = self.query_one("#review-file-table", DataTable)
        table.clear()
        for i, f in enumerate(files):
            table.add_row(f.status, f.path, f"+{f.added}", f"−{f.removed}", key=str(i))
        self.query_one(DiffView).show(files)
        self._head()

    @work(thread=True, exclusive=True, group="review-radar", exit_on_error=False)
    def _scan(self) -> None:
        ctx, rec = self.deck.ctx, self.rec
        try:
            if rec.host:  # compared with the agents of its own host, there
                radar = remote.radar_there(self.deck.fleet, rec.host)
            else:
                radar = review.radar(ctx, [r for r in self.records if not r.host],
                                     uncommitted=True)
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, f"conflict radar: {exc}", severity="warning")
            return
        from agentdeck.core.engine.check_results import CheckStore, branch_tip, chips

        said = chips(CheckStore(ctx.state_dir).of(rec.name),
                     branch_tip(ctx.common_dir, rec.branch)) if not rec.host else ""
        self.app.call_from_thread(self._radar_read, radar, said)

    def _radar_read(self, radar: review.Radar, checks: str = "") -> None:
        self.radar = radar  # (set on the event loop, as every attribute _head reads)
        self.checks = checks
        self._head()

    def _head(self) -> None:
        added = sum(f.added for f in self.files)
        removed = sum(f.removed for f in self.files)
        base = f"{self.rec.host}:{self.rec.base}" if self.rec.host else review.base_of(
            self.deck.ctx, self.rec)
        parts = [f"[b]review {self.rec.name}[/b] · {base}"
                 f"...{self.rec.branch} · {len(self.files)} file{'s' * (len(self.files) != 1)} "
                 f"+{added} −{removed}"
                 + (" · [b]with uncommitted work[/b]" if self.uncommitted else "")]
        with contextlib.suppress(KeyError):  # what it has used so far (its CLI's records)
            used = self.deck.host.info(self.rec.name).usage
            if used:
                parts[0] += f" · {used}"
        if self.checks:
            parts[0] += f" · checks {self.checks}"
        radar = self.radar
        if radar is not None:
            for pair in radar.pairs:
                if self.rec.name in (pair.a, pair.b):
                    other = pair.b if pair.a == self.rec.name else pair.a
                    if pair.conflicts:
                        parts.append(f"[b red]⚠ conflicts with {other}:[/b red] "
                                     + ", ".join(pair.conflicts))
                    else:
                        parts.append(f"[yellow]overlaps {other}:[/yellow] "
                                     + ", ".join(pair.overlap))
            if self.rec.name in radar.scope:
                parts.append("[b red]forbidden paths changed:[/b red] "
                             + ", ".join(radar.scope[self.rec.name]))
        self.query_one("#review-head", Static).update("\n".join(parts))

    # -- actions ------------------------------------------------------------------------------
    def action_hunk(self, forward: bool) -> None:
        self.query_one(DiffView).jump("hunk", forward)

    def action_file(self, forward: bool) -> None:
        self.query_one(DiffView).jump("file", forward)

    @on(DataTable.RowSelected, "#review-file-table")
    @on(DataTable.RowHighlighted, "#review-file-table")
    def _file_chosen(self, event: DataTable.RowSelected | DataTable.RowHighlighted) -> None:
        view = self.query_one(DiffView)
        if event.row_key.value is not None and view.current_file != int(event.row_key.value):
            view.to_file(int(event.row_key.value))

    @on(DiffView.CursorMoved)
    def _cursor_moved(self, event: DiffView.CursorMoved) -> None:
        # the file list follows the diff's cursor: the file it is in stays highlighted
        table = self.query_one("#review-file-table", DataTable)
        if table.row_count and table.cursor_row != event.file and event.file < table.row_count:
            table.move_cursor(row=event.file)

    def action_toggle_uncommitted(self) -> None:
        self.uncommitted = not self.uncommitted
        self._load()

    def action_request_changes(self) -> None:
        if is_shell(self.deck.fleet, self.rec.agent):
            self.notify(f"{self.rec.name} is a shell: a comment typed into it would run as a "
                        "command; type into its pane (i) instead", severity="warning")
            return
        anchor = self.query_one(DiffView).feedback_anchor()
        prefix = f"In {anchor}: " if anchor else ""

        def send(text: str | None) -> None:
            if text:
                self._send(prefix + text)

        about = f"about {anchor} (the line under the cursor)" if anchor else None
        self.app.push_screen(MessageDialog([self.rec.name], about=about), send)

    @work(thread=True, group="feedback", exit_on_error=False)
    def _send(self, text: str) -> None:
        try:
            how = self.deck.message(self.rec.name, text)
            note = (f"sent to {self.rec.name}" if how == "sent" else f"held for "
                    f"{self.rec.name} until its prompt is answered")
            self.app.call_from_thread(self.notify, note)
        except (AgentdeckError, OSError, KeyError, ValueError) as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="warning")

    @work(thread=True, group="merge", exit_on_error=False)
    def action_merge(self) -> None:
        """Ask first, showing what goes where ("merge feat/x into main (3 commits, 2 files)?")
        and what the merge leaves out; merge on y."""
        try:
            plan = review.merge_plan(self.deck.ctx, self.rec)
            notes = [] if self.rec.host else review.merge_warnings(self.deck.ctx, self.rec)
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        if not plan.commits:
            self.app.call_from_thread(self.notify, f"nothing to merge: {plan.branch} has no "
                                      f"commit that {plan.into} lacks", timeout=10)
            return
        where = f" on {self.rec.host}" if self.rec.host else ""
        detail = "\n".join([f"{self.rec.name}'s work goes into {plan.into}{where}.", *notes])

        def answered(yes: bool | None) -> None:
            if yes:
                self._merge()

        self.app.call_from_thread(self.app.push_screen, Confirm(plan.question, detail),
                                  answered)

    @work(thread=True, group="merge", exit_on_error=False)
    def _merge(self) -> None:
        ctx = self.deck.ctx
        if self.rec.host:
            self._merge_there()
            return
        try:
            done = review.merge(ctx, self.rec, state_dir=ctx.state_dir)
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.app.call_from_thread(
            self._merged, done.into, f"merged {done.branch} into {done.into} "
            f"({done.commit[:10]}); D cleans up: worktree, branch, database and port")

    def _merge_there(self) -> None:
        try:
            said = remote.merge_there(self.deck.fleet, self.rec.host, self.rec.name)
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._merged, self.rec.base, f"{self.rec.host}: "
                                  f"{said.splitlines()[0]}; D cleans up there")

    def _merged(self, into: str, said: str) -> None:
        self.merged_into = into
        self.notify(said, timeout=15)
        self.post_message(self.Merged(self.rec.name))  # the dashboard's radar looks again

    @work(thread=True, group="cleanup", exit_on_error=False)
    def action_cleanup(self) -> None:
        """Remove the agent's worktree, branch, database and port in one step — refused, with
        nothing removed, while it holds work that is merged nowhere."""
        from agentdeck.core.engine.removal import retire
        from agentdeck.core.fleet.edits import forget_in_fleet

        deck = self.deck
        name = self.rec.name
        try:
            if self.rec.host:  # removed there by its agentdeck (its own checks refuse a loss)
                done = [remote.remove_there(deck.fleet, self.rec.host, name).splitlines()[-1]]
                deck.refresh_remote()  # (else its record, as the host last sent it, stays)
            else:
                done = retire(deck.ctx, deck.fleet, name, deck.host, delete_branch=True,
                              drop_db=True, merged_into=self.merged_into).done
        except AgentdeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        done += forget_in_fleet(deck.fleet, name)  # else the next `agentdeck` remakes it
        self.app.call_from_thread(self.notify, f"{name}: " + "; ".join(done), timeout=10)
        self.post_message(self.Removed(name))  # its pane and row go

    def action_close(self) -> None:
        self.app.pop_screen()
