"""The dashboard: agent panes in a grid, the agent list and the approvals queue beside them.

Keys on the dashboard act on the selected agent or the selected approval; Enter or `i` hands the
keyboard to an agent's pane until the release key (ctrl+] by default) gives it back.

The screen holds the state it shows (reactives the widgets are bound to) and turns what the
session host and the queue say (ui/host_messages.py) into it; its collaborators do the rest:
WindowFit (ui/window.py) the layout by window size and the agents' terminal size,
AgentActions (ui/agent_actions.py) what is done to agents, RadarWatch (ui/radar.py) the
radar, CheckWatch (ui/checks.py) the checks, Attention (ui/attention.py) the alerts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Header

from agentdeck.core.agents.sessions import SessionInfo, fleet_spend
from agentdeck.core.deck import Deck
from agentdeck.core.errors import OperationError
from agentdeck.core.oversight.approvals import Decision, Entry, StaleAnswer
from agentdeck.ui import collector, layout
from agentdeck.ui.agent_actions import AgentActions
from agentdeck.ui.attention import Attention
from agentdeck.ui.bindings import DASHBOARD_BINDINGS
from agentdeck.ui.checks import CheckWatch
from agentdeck.ui.host_messages import (
    AgentsRead,
    ChecksChanged,
    ChecksRead,
    OutboxChanged,
    OutputArrived,
    QueueChanged,
    RadarScanned,
    RadarStale,
    SessionChanged,
    relay,
)
from agentdeck.ui.radar import RadarWatch
from agentdeck.ui.widgets.agent_list import AgentDetail, AgentList, AgentRow, live_row
from agentdeck.ui.widgets.agent_strip import AgentStrip
from agentdeck.ui.widgets.approvals_list import ApprovalsList
from agentdeck.ui.widgets.conversation_pane import ConversationPane
from agentdeck.ui.widgets.status_line import StatusLine
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from agentdeck.ui.window import WindowFit


class DashboardScreen(Screen[None]):
    """Every agent live, every permission prompt in one queue."""

    BINDINGS: ClassVar[list[BindingType]] = DASHBOARD_BINDINGS

    # The state the dashboard shows. Replaced, never changed in place: a watcher redraws what
    # changed (the agent list, the approvals list and the status line are bound to these).
    rows: reactive[dict[str, AgentRow]] = reactive(dict, init=False)
    approvals: reactive[tuple[Entry, ...]] = reactive(tuple, init=False)
    decisions: reactive[tuple[Decision, ...]] = reactive(tuple, init=False)
    selected: reactive[str | None] = reactive(None, init=False)  # the agent keys act on
    panes_live: reactive[bool] = reactive(False, init=False)  # after the first frame (on_mount)
    typing: reactive[str | None] = reactive(None, init=False)  # the agent the keys go to
    spend: reactive[str] = reactive("", init=False)  # what the fleet has used (fleet_spend)

    def __init__(self, deck: Deck, release_key: str, release_label: str,
                 viewer: bool = False) -> None:
        """`viewer`: this dashboard only watches (a browser through `agentdeck serve`): it never
        changes the agents' terminal size."""
        super().__init__()
        self.deck = deck
        self.viewer = viewer
        self.release_key, self.release_label = release_key, release_label
        self.infos: dict[str, SessionInfo] = {}
        self.seen_state: dict[str, str] = {}
        self._told_error: dict[str, str] = {}  # the failure each agent was last notified of
        self.panes: dict[str, TerminalPane] = {}
        self._ready = False  # mounted (the app's first resize may come before)
        self._started = False  # what waits for the first frame has started
        self.mounted = asyncio.Event()  # (the app waits for it: see AgentdeckApp.on_mount)
        self._unsubscribe: list[Callable[[], None]] = []
        self.fit = WindowFit(self)
        self.agents = AgentActions(self)
        self.radar = RadarWatch(self)
        self.checks = CheckWatch(self)
        self.attention = Attention(self)
        self.set_reactive(DashboardScreen.rows,
                          {s.name: AgentRow(**vars(s)) for s in deck.summaries()})
        self.set_reactive(DashboardScreen.approvals, tuple(deck.queue.pending()))

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sidebar"):
            yield AgentStrip(id="strip").data_bind(agents=DashboardScreen.rows,
                                                   selected=DashboardScreen.selected)
            yield AgentList(id="agents").data_bind(agents=DashboardScreen.rows)
            yield AgentDetail(id="agent-detail").data_bind(agents=DashboardScreen.rows,
                                                           selected=DashboardScreen.selected)
            yield ApprovalsList(self.deck.queue.clock, id="approvals").data_bind(
                entries=DashboardScreen.approvals, decisions=DashboardScreen.decisions)
        with Container(id="panes"):
            for name in self.rows:
                yield self.new_pane(name)
        with Vertical(id="bottom"):
            yield StatusLine(self.release_label, id="status").data_bind(
                rows=DashboardScreen.rows, approvals=DashboardScreen.approvals,
                typing=DashboardScreen.typing, spend=DashboardScreen.spend)
            yield layout.DeckFooter(*layout.footer_fit(self.app.size.width,
                                                       bool(self.approvals)))

    def new_pane(self, name: str) -> TerminalPane:
        # an ACP agent's pane lays out its conversation; every other shows its terminal
        kind = ConversationPane if self.deck.channel_of(name) == "acp" else TerminalPane
        pane = kind(self.deck.host, name, self.release_key, self.agents.send, id=f"pane-{name}")
        # (not data_bind: that binds to whoever runs now, the app in a dialog's callback)
        pane.set_reactive(TerminalPane.live, self.panes_live)
        return pane

    def watch_panes_live(self, live: bool) -> None:
        for pane in self.panes.values():
            pane.live = live

    @property
    def up(self) -> bool:
        """False until the dashboard is mounted and while it is taken down: a handler that comes
        then (the app's first resize, a late blur or session change) must not look for widgets."""
        return self._ready and self.is_attached and bool(self.query("#status"))

    @property
    def agent_list(self) -> AgentList:
        return self.query_one(AgentList)

    @property
    def approvals_list(self) -> ApprovalsList:
        return self.query_one(ApprovalsList)

    def on_mount(self) -> None:
        self._ready = True
        self.panes = {pane.agent: pane for pane in self.query(TerminalPane)}
        self.fit.layout_panes()
        self._unsubscribe = relay(self.deck, self)
        self._queue_changed()  # what changed before the subscription, and the last decisions
        for info in self.deck.host.sessions():
            self._apply_info(info)
        # after the first layout, so each agent starts at its pane's size
        self.call_after_refresh(self.fit.start_with_sizes)
        # (once the footer shows the keys of the first focus; in any case within a second)
        self.set_timer(1.0, self._after_first_frame)
        self.agent_list.focus()
        if self.viewer and os.environ.get("AGENTDECK_WEB_VIEW") == "queue":
            # a page opened from a phone's home screen (`agentdeck serve`): on the queue
            self.approvals_list.query_one("#approval-table").focus()
        self.fit.fit(self.app.size.width)
        self.mounted.set()

    def on_screen_resume(self) -> None:
        # Textual draws the screen's first frame as it handles this event (after this
        # handler): the panes' screens come in the frame after it
        if not self.panes_live:
            self.call_next(self._show_panes)

    def _show_panes(self) -> None:
        # (each pane draws its agent's screen: from the session host, the picture of it
        # fetched while the dashboard started)
        self.panes_live = True

    def on_deck_footer_settled(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        """What would only hold the first frame back (threads that want the interpreter too)
        starts once it is whole (its footer settled), after the panes have drawn their
        screens."""
        if self._started:
            return
        self._started = True
        collector.run_as_the_dashboard()  # (paused while it started: ui/collector.py)
        self.panes_live = True
        self.call_after_refresh(self._after_panes_drawn)

    def _after_panes_drawn(self) -> None:
        """What would only hold back the frame that shows the panes: the mirrors of the
        session host's screens (each loads the emulator library and replays its screen), the
        watchers, the radar's first look."""
        self.deck.host.mirror_screens()
        # the conflict radar, in the background: it looks again when files change in an
        # agent's worktree or a branch moves (filesystem events), or an agent stops working —
        # never on a timer, so an idle fleet costs no git at all
        self.radar.watch()
        self.agents.watch_registry()
        self.radar.scan()
        self.checks.start()  # (commits made while no dashboard looked are judged now)

    def on_unmount(self) -> None:
        # the host and queue outlive the screen: stop them calling into a closed loop
        for stop in self._unsubscribe:
            stop()
        self.fit.stop()
        self.agents.stop()
        self.radar.stop()
        self.checks.stop()

    def stop_on_unmount(self, stop: Callable[[], None]) -> None:
        self._unsubscribe.append(stop)

    # -- what the host, the queue and the outbox say (their threads): see host_messages -----
    @on(SessionChanged)
    def _session_changed(self, message: SessionChanged) -> None:
        self._apply_info(message.info)

    @on(OutputArrived)
    def _output_arrived(self, message: OutputArrived) -> None:
        if (pane := self.panes.get(message.name)) is not None:
            pane.poll_soon(message.taken)
        else:
            message.taken()

    @on(OutboxChanged)
    def _outbox_changed(self) -> None:
        for info in list(self.infos.values()):
            self._apply_info(info)

    @on(AgentsRead)
    async def _agents_read(self, message: AgentsRead) -> None:
        await self.agents.read(message.records, message.number)

    @on(RadarStale)
    def _radar_stale(self, message: RadarStale) -> None:
        self.radar.stale(message.names)
        self.checks.moved(message.names)  # a new commit is judged by the checks

    @on(ChecksChanged)
    def _checks_changed(self) -> None:
        self.checks.read()

    @on(ChecksRead)
    def _checks_read(self, message: ChecksRead) -> None:
        self.checks.took(message)
        self._set_each("checks", message.chips)

    @on(RadarScanned)
    def _radar_scanned(self, message: RadarScanned) -> None:
        self._set_each("radar", message.notes)

    def _set_each(self, field: str, values: Mapping[str, str]) -> None:
        """One field of the agents' rows, for the agents named in `values`."""
        self.rows = {name: replace(row, **{field: values[name]}) if name in values else row
                     for name, row in self.rows.items()}  # (unchanged rows compare equal)

    def _apply_info(self, info: SessionInfo) -> None:
        row = self.rows.get(info.name)
        if row is None:
            return
        self.infos[info.name] = info
        # (the host updates one SessionInfo in place: remember the state we saw last)
        if self.seen_state.get(info.name) == "working" and info.state != "working":
            # an agent that stops working has usually just edited or committed: look again
            # (and judge a new commit: what judges them even where the watch could not start)
            self.radar.stale({info.name})
            self.checks.moved({info.name})
        self.seen_state[info.name] = info.state
        new = live_row(row, info, any(e.agent == info.name for e in self.approvals),
                       self.deck.outbox.held(info.name))
        if new is not row:
            self.rows = {**self.rows, info.name: new}
        self.spend = fleet_spend(self.infos.values())
        if info.state != "failed":
            self._told_error.pop(info.name, None)  # a later failure is news again
        elif info.error and info.error != self._told_error.get(info.name):
            self._told_error[info.name] = info.error
            self.notify(f"{info.name}: {info.error}", severity="error", timeout=10)

    def watch_rows(self, old: dict[str, AgentRow], new: dict[str, AgentRow]) -> None:
        """An agent's row changed: its pane's border says the same."""
        for name, row in new.items():
            pane = self.panes.get(name)
            if pane is None or old.get(name) == row:
                continue
            pane.set_class(row.state == "waiting", "-waiting")
            pane.set_class(row.state == "failed", "-failed")
            state = row.state + (f" {row.detail}" if row.detail else "")
            pane.border_title = f"{name} · {row.agent} · {state}"

    @on(QueueChanged)
    def _queue_changed(self) -> None:
        self.approvals = tuple(self.deck.queue.pending())
        self.decisions = tuple(list(self.deck.queue.history)[-4:])
        self.set_class(bool(self.approvals), "-prompted")  # (a phone shows a pane)
        self.call_after_refresh(self.fit.show_queued_agent)  # (once the queue's table has them)

    def watch_approvals(self, old: tuple[Entry, ...], new: tuple[Entry, ...]) -> None:
        for info in list(self.infos.values()):
            self._apply_info(info)  # an agent with an entry is waiting
        self.attention.prompted(old, new)
        if bool(old) != bool(new):
            self.fit.fit_footer()  # the answer keys show while a prompt waits

    # -- actions ------------------------------------------------------------------------------
    @property
    def selected_agent(self) -> str | None:
        return self.agent_list.selected

    def action_answer(self, decision: str) -> None:
        entry = self.approvals_list.selected
        if entry is None:
            self.notify("no prompt is waiting", severity="information")
            return
        self.answer(entry.id, decision)

    @work(thread=True, group="answer", exit_on_error=False)
    def answer(self, entry_id: int, decision: str) -> None:
        try:
            self.deck.queue.answer(entry_id, decision)
        except StaleAnswer as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="warning", timeout=6)
        except OperationError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="warning")

    def action_review(self) -> None:
        name = self.selected_agent
        rec = next((r for r in self.deck.records if r.name == name), None)
        if rec is not None:
            from agentdeck.ui.screens.review import ReviewScreen  # (loaded when first opened)

            self.app.push_screen(ReviewScreen(self.deck, rec, list(self.deck.records)))

    def action_enter_pane(self, agent: str | None = None) -> None:
        name = agent or self.selected_agent
        if name is None:
            return
        pane = self.query_one(f"#pane-{name}", TerminalPane)
        self.select(name)
        pane.poll()
        pane.start_typing()
        self._focus_changed()

    def action_next_agent(self, step: int = 1) -> None:
        names = list(self.rows)
        if names:
            at = names.index(self.selected) if self.selected in names else -1
            self.select(names[(at + step) % len(names)])

    def action_scroll_pane(self, pages: int) -> None:
        name = self.selected_agent
        if name:
            pane = self.query_one(f"#pane-{name}", TerminalPane)
            pane.back.scroll_lines(pages * max(1, pane.content_size.height - 2))

    # (each in a collaborator: the screen is where the keys' actions are looked up)
    def action_zoom(self) -> None:
        self.fit.zoom()

    def action_toggle_agents(self) -> None:
        self.fit.toggle_agents()

    def action_spawn(self) -> None:
        self.agents.spawn()

    def action_stop_agent(self) -> None:
        self.agents.stop_selected()

    def action_restart_agent(self) -> None:
        self.agents.restart_selected()

    def action_message(self) -> None:
        self.agents.message_selected()

    def action_broadcast(self) -> None:
        self.agents.broadcast()

    def action_send_failure(self) -> None:
        self.checks.send_failure(self.selected_agent)

    def action_compare(self) -> None:
        self.checks.compare(self.selected)

    @on(events.DescendantFocus)
    @on(events.DescendantBlur)
    def _focus_changed(self) -> None:
        if not self.up:  # shutting down: a blur arrives after the widgets went
            return
        # typing mode starts or ends with a pane's focus: the status line says so at once
        focused = self.focused
        self.typing = focused.agent if isinstance(focused, TerminalPane) else None
        self.refresh_bindings()

    @on(TerminalPane.Released)
    def _released(self, event: TerminalPane.Released) -> None:
        self.agent_list.focus()
        self._focus_changed()

    @on(AgentStrip.Chosen)
    def _strip_chosen(self, event: AgentStrip.Chosen) -> None:
        self.select(event.agent)

    @on(DataTable.RowHighlighted, "#agents")
    def _agent_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.fit.one_pane() and self.approvals and not self.has_class("-agents-shown"):
            return  # the table is hidden: not the user's choice; the queue's agent is shown
        if event.row_key.value:
            self.select(str(event.row_key.value))

    @on(DataTable.RowHighlighted, "#approval-table")
    def _approval_highlighted(self) -> None:
        self.fit.show_queued_agent()

    @on(DataTable.RowSelected, "#agents")
    def _agent_chosen(self, event: DataTable.RowSelected) -> None:
        self.select(str(event.row_key.value))
        self.action_zoom()  # shows it whole (typing into it is `i`)

    @on(DataTable.RowSelected, "#approval-table")
    def _approval_chosen(self, event: DataTable.RowSelected) -> None:
        entry = self.approvals_list.selected
        if entry is not None:
            self.select(entry.agent)  # shows it; the keyboard stays on the dashboard

    @on(TerminalPane.TypingRequested)
    def _typing_requested(self, event: TerminalPane.TypingRequested) -> None:
        self.action_enter_pane(event.agent)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while typing into a pane every key is the agent's: the footer shows only the way back
        if isinstance(self.focused, TerminalPane):
            return action in ("release", "command_palette")
        # a dialog on top has its own keys: the footer under it shows none of the dashboard's
        return self.app.screen is self

    def select(self, name: str) -> None:
        self.selected = name
        if not self.up:  # (a highlight handled as the dashboard is taken down)
            return
        table = self.agent_list
        if table.selected != name and name in table.rows:
            table.move_cursor(row=table.get_row_index(name))

    def watch_selected(self, name: str | None) -> None:
        # the selected pane: its border, and the one shown when only one is
        for pane in self.query(TerminalPane):
            pane.set_class(pane.agent == name, "-selected")
        self.fit.highlight_request_of(name)
