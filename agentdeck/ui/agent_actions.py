"""What the dashboard does to agents themselves: spawn a new one, stop, restart or start one,
and send messages (one agent, or a broadcast to the marked ones). A part of AgentdeckApp, kept
apart so the app module holds the layout and the flow of state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from agentdeck.core.errors import OperationError
from agentdeck.core.outbox import HELD
from agentdeck.core.sessions import STOP_GRACE
from agentdeck.ui.widgets.agent_list import AgentRow
from agentdeck.ui.widgets.terminal_pane import TerminalPane

if TYPE_CHECKING:
    from agentdeck.ui.app import AgentdeckApp
    from agentdeck.ui.screens.spawn import Spawned

    _Base = AgentdeckApp
else:
    _Base = object



class AgentActions(_Base):
    def action_spawn(self) -> None:
        from agentdeck.ui.screens.spawn import SpawnDialog  # (loaded when first opened)

        self.push_screen(SpawnDialog(self.deck.ctx, self.deck.fleet), self._spawned)

    async def _spawned(self, result: Spawned | None) -> None:
        if result is None:
            return
        self.deck.reload()
        self._watch_changes()  # its worktree too
        summary = next((s for s in self.deck.summaries() if s.name == result.name), None)
        if summary is None:
            return
        pane = TerminalPane(self.deck.host, result.name, self.release_key, self.send,
                            id=f"pane-{result.name}")
        panes = self.query_one("#panes")
        await panes.mount(pane)
        self._panes[result.name] = pane
        self.rows = {**self.rows, result.name: AgentRow(**vars(summary))}
        self._layout_panes()
        self._select(result.name)
        note = " and written to the fleet file" if result.written_back else ""
        self.notify(f"{result.name} created{note}; starting it")
        self.call_after_refresh(self._start_new, result.name)

    def _start_new(self, name: str) -> None:
        self._start_one(name, *(self._home or self.home_size()))
        self._select(name)  # selected, not typed into: typing is `i`
        self._update_status()

    @work(thread=True, group="start-one", exit_on_error=False)
    def _start_one(self, name: str, cols: int, rows: int, resume: bool = False) -> None:
        rec = next(r for r in self.deck.records if r.name == name)
        self.deck.start(rec, cols, rows, resume=resume)

    def action_stop_agent(self) -> None:
        name = self.selected_agent
        info = self._infos.get(name or "")
        if name is None or info is None or info.process != "running":
            self.notify(f"{name or 'no agent'} is not running", severity="information")
            return
        self.notify(f"stopping {name} and every process it started…")
        self._stop(name)

    @work(thread=True, group="stop", exit_on_error=False)
    def _stop(self, name: str, then_start: bool = False) -> None:
        try:
            self.deck.host.stop(name, STOP_GRACE)
        except (OperationError, OSError, KeyError) as exc:
            self.call_from_thread(self.notify, f"{name}: not stopped ({exc})",
                                  severity="warning")
            return
        if then_start:
            self.call_from_thread(self._start_one, name, *(self._home or self.home_size()),
                                  True)

    def action_restart_agent(self) -> None:
        """Restart the selected agent (resuming, where its CLI can), or start an exited one."""
        name = self.selected_agent
        if name is None:
            return
        info = self._infos.get(name)
        running = info is not None and info.process == "running"
        self.notify(f"restarting {name}…" if running else f"starting {name}…")
        if running:
            self._stop(name, then_start=True)
        else:
            self._start_one(name, *(self._home or self.home_size()), info is not None)

    def action_message(self) -> None:
        name = self.selected_agent
        if name is None:
            return
        self._ask_and_send([name])

    def action_broadcast(self) -> None:
        marked = sorted(self._agent_list.marked)
        names = marked or [r.name for r in self.rows.values() if r.role != "lead"]
        if names:
            self._ask_and_send(names)

    def _ask_and_send(self, names: list[str]) -> None:
        def sent(text: str | None) -> None:
            if text:
                self._deliver(names, text)

        from agentdeck.ui.screens.message import MessageDialog

        self.push_screen(MessageDialog(names), sent)

    @work(thread=True, group="message", exit_on_error=False)
    def _deliver(self, names: list[str], text: str) -> None:
        done, held, failed = [], [], []
        for name in names:
            try:
                (held if self.deck.message(name, text) == HELD else done).append(name)
            except (OperationError, OSError, ValueError, KeyError) as exc:
                failed.append(f"{name}: {exc}")
        if done:
            self.call_from_thread(self.notify, f"sent to {', '.join(done)}")
        if held:
            self.call_from_thread(
                self.notify, f"held for {', '.join(held)}: a prompt waits there; the message "
                "goes once it is answered", timeout=8)
        for line in failed:
            self.call_from_thread(self.notify, line, severity="warning")

