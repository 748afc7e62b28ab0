"""What the dashboard does to agents themselves: spawn a new one, stop, restart or start one,
and send messages (one agent, or a broadcast to the marked ones). A part of AgentdeckApp, kept
apart so the app module holds the layout and the flow of state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from agentdeck.core.agents.sessions import STOP_GRACE
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.registry import Registry
from agentdeck.core.git.watch import FileWatcher
from agentdeck.core.oversight.outbox import HELD
from agentdeck.ui.host_messages import AgentsRead
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
        await self._add_agent(result.name)  # (unless the registry watcher did already)
        if result.name not in self._panes:
            return
        self._select(result.name)
        note = " and written to the fleet file" if result.written_back else ""
        self.notify(f"{result.name} created{note}; starting it")
        self._start_soon(result.name)

    def _start_soon(self, name: str) -> None:
        """Start a new agent after the next layout (so at its pane's size), once: the spawn
        dialog and the registry watcher may both ask."""
        if name not in self._starting:
            self._starting.add(name)
            self.call_after_refresh(self._start_new, name)

    async def _add_agent(self, name: str) -> bool:
        """A pane and a row for an agent in deck.records that has none yet."""
        summary = next((s for s in self.deck.summaries() if s.name == name), None)
        if summary is None or name in self._panes:
            return False
        pane = TerminalPane(self.deck.host, name, self.release_key, self.send, id=f"pane-{name}")
        pane.data_bind(live=type(self).panes_live)
        self._panes[name] = pane
        await self.query_one("#panes").mount(pane)
        self.rows = {**self.rows, name: AgentRow(**vars(summary))}
        self._layout_panes()
        self._watch_changes_soon()  # its worktree too
        self._update_status()
        return True

    async def agent_removed(self, name: str) -> None:
        """An agent was cleaned up: its pane and row go, the radar looks again."""
        from agentdeck.ui.screens.review import ReviewScreen

        if isinstance(self.screen, ReviewScreen) and self.screen.rec.name == name:
            self.pop_screen()
        # its row first: whoever sees the pane gone sees the row gone too
        self.rows = {n: row for n, row in self.rows.items() if n != name}
        pane = self._panes.pop(name, None)
        if pane is not None:
            await pane.remove()
        self._infos.pop(name, None)
        self._starting.discard(name)  # (the name may be used again)
        self._layout_panes()
        self.deck.records = [r for r in self.deck.records if r.name != name]
        self._update_status()
        self._watch_changes_soon()
        self._radar.stale(None)
        self.scan_radar()

    # -- agents made or removed by any client ----------------------------------------------
    def _watch_registry(self) -> None:
        """`agentdeck spawn`, `rm`, `prune`, `merge --cleanup` in another terminal, another
        dashboard, a browser, on this machine or a host: every change to the agents shows here
        within a second. The session host watches its registry and tells every dashboard
        attached to it (a host's, through its ssh link); a dashboard that hosts its agents
        itself watches the registry file."""
        if self.deck.persistent:
            self._unsubscribe.append(self.deck.host.on_agents(self._read_agents))
            # …and a look at the registry file's stamp each second, in case the session host's
            # watch missed a change (inotify limits, a busy machine): one stat, no reading
            self._registry_stamp = self._stamp()
            self.set_interval(1.0, self._registry_look)
        else:
            self._registry_watcher = FileWatcher(
                Registry(self.deck.ctx.state_dir).path, self._read_agents).start()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            info = Registry(self.deck.ctx.state_dir).path.stat()
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _registry_look(self) -> None:
        stamp = self._stamp()
        if stamp != self._registry_stamp:
            self._registry_stamp = stamp
            self.run_worker(self._read_agents, thread=True, group="registry",
                            exit_on_error=False)

    def _read_agents(self) -> None:  # (the watcher's or the session host client's thread)
        self.post_message(AgentsRead(self.deck.read_records()))

    # (by name: @on handlers are collected from the app class itself, not from its parts)
    async def on_agents_read(self, message: AgentsRead) -> None:
        if not self._dashboard.is_attached:
            return
        names = {r.name for r in message.records}
        self.deck.records = message.records
        for name in [n for n in self._panes if n not in names]:
            await self.agent_removed(name)
        for rec in message.records:
            # a dashboard that hosts its agents is the only one that can start a new one (with
            # a daemon, whoever made it started it there)
            if await self._add_agent(rec.name) and not self.deck.persistent:
                self._start_soon(rec.name)

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

