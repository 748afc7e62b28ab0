"""The dashboard: agent panes in a grid, the agent list and the approvals queue beside them.

Keys on the dashboard act on the selected agent or the selected approval; Enter or `i` hands the
keyboard to an agent's pane until the release key (ctrl+] by default) gives it back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Static

from agentdeck.core.agents.sessions import Event, SessionInfo
from agentdeck.core.deck import Deck
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.views import limit_text
from agentdeck.core.git import review
from agentdeck.core.git.watch import ChangeWatcher, FileWatcher
from agentdeck.core.oversight.approvals import Decision, Entry, StaleAnswer
from agentdeck.ui import layout
from agentdeck.ui.agent_actions import AgentActions
from agentdeck.ui.attention import Attention
from agentdeck.ui.bindings import DASHBOARD_BINDINGS
from agentdeck.ui.host_messages import (
    OutboxChanged,
    OutputArrived,
    QueueChanged,
    SessionChanged,
)
from agentdeck.ui.keymap import load_keymap
from agentdeck.ui.radar import RadarWatch
from agentdeck.ui.themes import DEFAULT_THEME, check_theme, load_themes
from agentdeck.ui.widgets.agent_list import AgentDetail, AgentList, AgentRow
from agentdeck.ui.widgets.agent_strip import AgentStrip
from agentdeck.ui.widgets.approvals_list import ApprovalsList
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from agentdeck.ui.window import WindowFit

if TYPE_CHECKING:
    from agentdeck.ui.screens.review import ReviewScreen

DASHBOARD_ACTIONS = {b.action.split("(")[0] for b in DASHBOARD_BINDINGS
                     if isinstance(b, Binding)} - {"help"}


class AgentdeckApp(WindowFit, AgentActions, Attention, RadarWatch, App[None]):
    """agentdeck: every agent live, every permission prompt in one queue."""

    TITLE = "agentdeck"
    CSS_PATH = "app.tcss"
    # see ui/layout.py: wide, medium, narrow (one pane at a time) and phone
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = layout.BREAKPOINTS
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = layout.HEIGHT_BREAKPOINTS
    BINDINGS: ClassVar[list[BindingType]] = DASHBOARD_BINDINGS

    # The state the dashboard shows. Replaced, never changed in place: a watcher redraws what
    # changed (the agent list and the approvals list are bound to these).
    rows: reactive[dict[str, AgentRow]] = reactive(dict, init=False)
    approvals: reactive[tuple[Entry, ...]] = reactive(tuple, init=False)
    decisions: reactive[tuple[Decision, ...]] = reactive(tuple, init=False)
    selected: reactive[str | None] = reactive(None, init=False)  # the agent keys act on
    panes_live: reactive[bool] = reactive(False, init=False)  # after the first frame (on_mount)

    def __init__(self, deck: Deck, theme: str | None = None, viewer: bool = False) -> None:
        """`viewer`: this dashboard only watches (a browser through `agentdeck serve`): it never
        changes the agents' terminal size."""
        super().__init__()
        self.deck = deck
        self.viewer = viewer
        self._home: tuple[int, int] | None = None
        self._dashboard: Screen[object] = Screen()  # the dashboard's own screen, once mounted
        self._home_timer: Timer | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentdeck-write")
        self._unsubscribe: list[Callable[[], None]] = []
        self._infos: dict[str, SessionInfo] = {}
        self._seen_state: dict[str, str] = {}
        self._told_error: dict[str, str] = {}  # the failure each agent was last notified of
        self._panes: dict[str, TerminalPane] = {}
        self._radar = review.RadarMemo()  # what the radar learnt (scans run on change events)
        self._watcher: ChangeWatcher | None = None
        self._registry_watcher: FileWatcher | None = None
        self._registry_stamp: tuple[int, int, int] | None = None  # (agent_actions)
        self._rewatch_due = False  # the radar's watcher starts again after this refresh
        self._starting: set[str] = set()  # agents added while it runs, being started
        self.set_reactive(AgentdeckApp.rows,
                          {s.name: AgentRow(**vars(s)) for s in deck.summaries()})
        self.set_reactive(AgentdeckApp.approvals, tuple(deck.queue.pending()))
        self.themes = load_themes()
        for theme_obj in self.themes.themes.values():
            self.register_theme(theme_obj)
        chosen = theme or deck.fleet.dashboard.theme or DEFAULT_THEME
        check_theme(chosen, self.themes)
        self.theme = chosen
        self.release_key = deck.fleet.dashboard.release_key
        if os.environ.get("NO_COLOR"):  # https://no-color.org: marks that need no colour
            self.add_class("-no-color")
        if viewer:  # in a browser: answers are buttons to tap or click, in every layout
            self.add_class("-web")

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sidebar"):
            yield AgentStrip(id="strip").data_bind(agents=AgentdeckApp.rows,
                                                   selected=AgentdeckApp.selected)
            yield AgentList(id="agents").data_bind(agents=AgentdeckApp.rows)
            yield AgentDetail(id="agent-detail").data_bind(agents=AgentdeckApp.rows,
                                                           selected=AgentdeckApp.selected)
            yield ApprovalsList(self.deck.queue.clock, id="approvals").data_bind(
                entries=AgentdeckApp.approvals, decisions=AgentdeckApp.decisions)
        with Container(id="panes"):
            for name in self.rows:
                yield TerminalPane(self.deck.host, name, self.release_key, self.send,
                                   id=f"pane-{name}").data_bind(live=AgentdeckApp.panes_live)
        with Vertical(id="bottom"):
            yield Static(id="status")
            yield layout.DeckFooter(*layout.footer_fit(self.size.width, bool(self.approvals)))

    def get_default_screen(self) -> Screen[object]:
        # known from the start, not only at mount: the footer composes the first frame's keys
        # through check_action, which shows the dashboard's keys on the dashboard's screen only
        self._dashboard = super().get_default_screen()
        return self._dashboard

    @property
    def _dashboard_up(self) -> bool:
        """False while the dashboard is taken down (quitting; a test's end): a handler that
        comes then (a blur after the last screen went, a session's change while the widgets
        are being removed) must not look for them."""
        return bool(self.screen_stack) and bool(self._dashboard.query("#status"))

    @property
    def _agent_list(self) -> AgentList:
        # the dashboard's own screen, whichever screen (review, spawn) is on top now
        return self._dashboard.query_one(AgentList)

    @property
    def _approvals(self) -> ApprovalsList:
        return self._dashboard.query_one(ApprovalsList)

    @property
    def _status(self) -> Static:
        return self._dashboard.query_one("#status", Static)

    def on_mount(self) -> None:
        ids = [b.id for b in (*self.BINDINGS, *AgentList.BINDINGS)
               if isinstance(b, Binding) and b.id]
        keymap, problems = load_keymap(self.deck.fleet.dashboard.keys, ids)
        if keymap:
            self.set_keymap(keymap)
        for problem in [*problems, *self.themes.problems]:
            self.notify(problem, severity="warning", timeout=10)
        self._panes = {pane.agent: pane for pane in self.query(TerminalPane)}
        self._layout_panes()
        self._unsubscribe = [self.deck.host.subscribe(self._on_host_event),
                             self.deck.queue.on_change(self._on_queue_change)]
        # post_message is thread-safe: the outbox's threads tell the app through it
        self.deck.outbox.on_change(lambda: self.post_message(OutboxChanged()))
        self._queue_changed()  # what changed before the subscription, and the last decisions
        for info in self.deck.host.sessions():
            self._apply_info(info)
        # after the first layout, so each agent starts at its pane's size
        self.call_after_refresh(self._start_with_sizes)
        # (once the footer shows the keys of the first focus; in any case within a second)
        self.set_timer(1.0, self._after_first_frame)
        self._agent_list.focus()
        if self.viewer and os.environ.get("AGENTDECK_WEB_VIEW") == "queue":
            # a page opened from a phone's home screen (`agentdeck serve`): on the queue
            self._approvals.query_one("#approval-table").focus()
        self._fit(self.size.width)
        self._update_status()

    def on_deck_footer_settled(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        """What would only hold the first frame back (threads that want the interpreter too)
        starts once it is drawn: the panes' screens, the watchers, the radar's first look."""
        if self.panes_live:
            return
        self.panes_live = True
        # the conflict radar, in the background: it looks again when files change in an
        # agent's worktree or a branch moves (filesystem events), or an agent stops working —
        # never on a timer, so an idle fleet costs no git at all
        self._watch_changes()
        self._watch_registry()
        self.scan_radar()

    @work(thread=True, exclusive=True, group="start", exit_on_error=False)
    def start_agents(self, sizes: dict[str, tuple[int, int]]) -> None:
        self.deck.start_all(sizes)
        for note in self.deck.notes:
            self.call_from_thread(self.notify, note, severity="warning", timeout=10)

    async def on_unmount(self) -> None:
        if self._home_timer is not None:
            self._home_timer.stop()
        # the host and queue outlive the app: stop them calling into a closed loop
        for stop in self._unsubscribe:
            stop()
        self._writer.shutdown(wait=False)
        for watcher in (self._watcher, self._registry_watcher):
            if watcher is not None:
                watcher.stop()

    # -- events from the host and the queue (their threads): see host_messages --------------
    def _on_host_event(self, event: Event) -> None:
        if event.kind == "state":
            self.post_message(SessionChanged(event.info))
        elif event.kind in ("output", "resize"):  # (a resize: its size label, its viewport)
            self.post_message(OutputArrived(event.name))

    def _on_queue_change(self) -> None:
        self.post_message(QueueChanged())

    @on(SessionChanged)
    def _session_changed(self, message: SessionChanged) -> None:
        if self._dashboard.is_attached:
            self._apply_info(message.info)

    @on(OutputArrived)
    def _output_arrived(self, message: OutputArrived) -> None:
        pane = self._panes.get(message.name)
        if pane is not None:
            pane.poll_soon()

    @on(QueueChanged)
    def _on_queue_changed(self) -> None:
        if self._dashboard.is_attached:
            self._queue_changed()

    def _apply_info(self, info: SessionInfo) -> None:
        row = self.rows.get(info.name)
        if row is None:
            return
        self._infos[info.name] = info
        # (the host updates one SessionInfo in place: remember the state we saw last)
        if self._seen_state.get(info.name) == "working" and info.state != "working":
            # an agent that stops working has usually just edited or committed: look again
            self._radar.stale({info.name})
            self.scan_radar()
        self._seen_state[info.name] = info.state
        state = info.state
        if info.process == "running" and info.state != "disconnected" and any(
                e.agent == info.name for e in self.approvals):
            state = "waiting"  # a hook may be asking while the screen still shows work
        detail = ""
        if info.state == "exited" and info.exit_code is not None:
            detail = f"({info.exit_code})"
        elif info.state == "rate-limited":  # retrying 2/10, gave up: 429, resets 3pm
            detail = limit_text(info.detection.reset, info.detection.detail)
        held = self.deck.outbox.held(info.name)
        if held:  # messages waiting for its prompt to be answered
            detail = f"{detail} ✉{held} held".strip()
        error = (info.error or "") if info.state == "failed" else ""
        if (row.state, row.detail, row.error, row.usage) != (state, detail, error, info.usage):
            self.rows = {**self.rows, info.name: replace(row, state=state, detail=detail,
                                                         error=error, usage=info.usage)}
        if info.state != "failed":
            self._told_error.pop(info.name, None)  # a later failure is news again
        elif info.error and info.error != self._told_error.get(info.name):
            self._told_error[info.name] = info.error
            self.notify(f"{info.name}: {info.error}", severity="error", timeout=10)

    def watch_rows(self, old: dict[str, AgentRow], new: dict[str, AgentRow]) -> None:
        """An agent's row changed: its pane's border says the same; the status line counts."""
        for name, row in new.items():
            pane = self._panes.get(name)
            if pane is None or old.get(name) == row:
                continue
            pane.set_class(row.state == "waiting", "-waiting")
            pane.set_class(row.state == "failed", "-failed")
            state = row.state + (f" {row.detail}" if row.detail else "")
            pane.border_title = f"{name} · {row.agent} · {state}"
        self._update_status()

    def _queue_changed(self) -> None:
        self.approvals = tuple(self.deck.queue.pending())
        self.decisions = tuple(list(self.deck.queue.history)[-4:])
        self._dashboard.set_class(bool(self.approvals), "-prompted")  # (a phone shows a pane)
        self.call_after_refresh(self._show_queued_agent)  # (once the queue's table has them)

    # -- sending ------------------------------------------------------------------------------
    def send(self, agent: str, data: bytes) -> None:
        """Write what the user types in an agent's pane to its PTY, off the event loop, in
        order. The queue hears of it first: keys typed while a prompt is drawn answer it."""

        def write() -> None:
            try:
                self.deck.queue.typed(agent, data)
                self.deck.host.write(agent, data)
            except (OSError, ValueError) as exc:
                self.call_from_thread(self.notify, f"{agent}: not sent ({exc})",
                                      severity="warning")

        self._writer.submit(write)

    # -- actions ------------------------------------------------------------------------------
    @property
    def selected_agent(self) -> str | None:
        return self._agent_list.selected

    def action_answer(self, decision: str) -> None:
        entry = self._approvals.selected
        if entry is None:
            self.notify("no prompt is waiting", severity="information")
            return
        self._answer(entry.id, decision)

    @work(thread=True, group="answer", exit_on_error=False)
    def _answer(self, entry_id: int, decision: str) -> None:
        try:
            self.deck.queue.answer(entry_id, decision)
        except StaleAnswer as exc:
            self.call_from_thread(self.notify, str(exc), severity="warning", timeout=6)
        except OperationError as exc:
            self.call_from_thread(self.notify, str(exc), severity="warning")

    def action_review(self) -> None:
        name = self.selected_agent
        rec = next((r for r in self.deck.records if r.name == name), None)
        if rec is not None:
            from agentdeck.ui.screens.review import ReviewScreen  # (loaded when first opened)

            self.push_screen(ReviewScreen(self.deck, rec, list(self.deck.records)))

    def action_enter_pane(self, agent: str | None = None) -> None:
        name = agent or self.selected_agent
        if name is None:
            return
        pane = self.query_one(f"#pane-{name}", TerminalPane)
        self._select(name)
        pane.poll()
        pane.start_typing()
        self._update_status()
        self.refresh_bindings()

    def action_next_agent(self, step: int = 1) -> None:
        names = list(self.rows)
        if names:
            at = names.index(self.selected) if self.selected in names else -1
            self._select(names[(at + step) % len(names)])

    def action_scroll_pane(self, pages: int) -> None:
        name = self.selected_agent
        if name:
            pane = self.query_one(f"#pane-{name}", TerminalPane)
            pane.scroll_lines(pages * max(1, pane.content_size.height - 2))

    async def action_quit(self) -> None:
        """Quit; agents that would stop with this dashboard (it hosts them itself, as the demo
        does) are named and the user asked first."""
        running = sorted(i.name for i in self.deck.host.sessions() if i.process == "running")
        if self.deck.persistent or not running:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        from agentdeck.ui.screens.confirm import Confirm

        self.push_screen(Confirm(
            f"Quit, and stop {len(running)} agent{'s' * (len(running) != 1)}?",
            f"{', '.join(running)} run in this dashboard and stop when it closes (their "
            "worktrees, ports and databases stay). Agents started with a session host keep "
            "running when its dashboard quits."), answered)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._focus_changed()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._focus_changed()

    def _focus_changed(self) -> None:
        if not self.screen_stack:  # shutting down: a blur arrives after the last screen went
            return
        self._update_status()  # typing mode starts or ends with a pane's focus: say so at once
        self.refresh_bindings()

    # (by name, so the review screen's module loads only when a review opens)
    async def on_review_screen_removed(self, message: ReviewScreen.Removed) -> None:
        await self.agent_removed(message.name)

    @on(OutboxChanged)
    def _outbox_changed(self) -> None:
        if not self._dashboard.is_attached:
            return
        for info in list(self._infos.values()):
            self._apply_info(info)

    @on(TerminalPane.Released)
    def _released(self, event: TerminalPane.Released) -> None:
        self._agent_list.focus()
        self._update_status()
        self.refresh_bindings()

    @on(AgentStrip.Chosen)
    def _strip_chosen(self, event: AgentStrip.Chosen) -> None:
        self._select(event.agent)

    @on(DataTable.RowHighlighted, "#agents")
    def _agent_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self._one_pane() and self.approvals and not self._dashboard.has_class(
                "-agents-shown"):
            return  # the table is hidden: not the user's choice; the queue's agent is shown
        if event.row_key.value:
            self._select(str(event.row_key.value))

    @on(DataTable.RowHighlighted, "#approval-table")
    def _approval_highlighted(self) -> None:
        self._show_queued_agent()

    @on(DataTable.RowSelected, "#agents")
    def _agent_chosen(self, event: DataTable.RowSelected) -> None:
        self._select(str(event.row_key.value))
        self.action_zoom()  # shows it whole (typing into it is `i`)

    @on(DataTable.RowSelected, "#approval-table")
    def _approval_chosen(self, event: DataTable.RowSelected) -> None:
        entry = self._approvals.selected
        if entry is not None:
            self._select(entry.agent)  # shows it; the keyboard stays on the dashboard

    @on(TerminalPane.TypingRequested)
    def _typing_requested(self, event: TerminalPane.TypingRequested) -> None:
        self.action_enter_pane(event.agent)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while typing into a pane every key is the agent's: the footer shows only the way back
        if isinstance(self.focused, TerminalPane):
            return action in ("release", "command_palette")
        # another screen (review, a dialog) has its own keys: the dashboard's are not its
        if self.screen_stack and self.screen is not self._dashboard:
            return action not in DASHBOARD_ACTIONS
        return True

    def _select(self, name: str) -> None:
        self.selected = name
        if not self._dashboard_up:  # (a highlight handled as the dashboard is taken down)
            return
        table = self._agent_list
        if table.selected != name and name in table.rows:
            table.move_cursor(row=table.get_row_index(name))

    def watch_selected(self, name: str | None) -> None:
        # the selected pane: its border, and the one shown when only one is
        for pane in self.query(TerminalPane):
            pane.set_class(pane.agent == name, "-selected")
        self._highlight_request_of(name)
