"""What the dashboard does to agents themselves: spawn a new one, stop, restart or start one,
type into one, send messages (one agent, or a broadcast to the marked ones), and follow the
agents any client adds or removes. The dashboard screen's collaborator: blocking work runs in
the screen's workers, whose threads reach the screen only through call_from_thread or a
message."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from textual.notifications import SeverityLevel

from agentdeck.core.agents.sessions import STOP_GRACE
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.registry import AgentRecord, Registry
from agentdeck.core.git.watch import FileWatcher
from agentdeck.core.oversight.outbox import HELD
from agentdeck.ui.host_messages import AgentsRead
from agentdeck.ui.widgets.agent_list import AgentRow

if TYPE_CHECKING:
    from agentdeck.ui.screens.dashboard import DashboardScreen
    from agentdeck.ui.screens.spawn import Spawned


class AgentActions:
    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen
        self.deck = screen.deck
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentdeck-write")
        self._registry_watcher: FileWatcher | None = None
        self._registry_stamp: tuple[int, int, int] | None = None
        self._starting: set[str] = set()  # agents added while it runs, being started
        # Readings of the registry are numbered as they start: two threads may read it at once
        # (a push from the session host, the 1 s stamp look), and the older reading can arrive
        # last — applied, it brings back an agent `rm` just removed, and no later change comes
        # to correct it. Only a reading newer than the last one applied is applied.
        self._readings = itertools.count(1)
        self._applied = 0

    def _in_thread(self, work: Callable[[], object], group: str) -> None:
        self.screen.run_worker(work, thread=True, group=group, exit_on_error=False)

    def _tell(self, text: str, severity: SeverityLevel = "information",
              timeout: float | None = None) -> None:  # (from a worker's thread)
        self.screen.app.call_from_thread(self.screen.notify, text, severity=severity,
                                         timeout=timeout)

    def send(self, agent: str, data: bytes) -> None:
        """Write what the user types in an agent's pane to its PTY, off the event loop, in
        order. The queue hears of it first: keys typed while a prompt is drawn answer it."""

        def write() -> None:
            try:
                self.deck.queue.typed(agent, data)
                self.deck.host.write(agent, data)
            except (OSError, ValueError) as exc:
                self._tell(f"{agent}: not sent ({exc})", severity="warning")

        self._writer.submit(write)

    def spawn(self) -> None:
        from agentdeck.ui.screens.spawn import SpawnDialog  # (loaded when first opened)

        self.screen.app.push_screen(SpawnDialog(self.deck.ctx, self.deck.fleet), self._spawned)

    async def _spawned(self, result: Spawned | None) -> None:
        if result is None:
            return
        self.deck.reload()
        names = result.names or (result.name,)  # (a fanout: its candidates)
        for name in names:
            await self._add_agent(name)  # (unless the registry watcher did already)
        made = [n for n in names if n in self.screen.panes]
        if not made:
            return
        self.screen.select(made[0])
        note = " and written to the fleet file" if result.written_back else ""
        self.screen.notify(f"{', '.join(made)} created{note}; starting "
                           f"{'them' if len(made) > 1 else 'it'}")
        for name in made:
            self._start_soon(name)

    def _start_soon(self, name: str) -> None:
        """Start a new agent after the next layout (so at its pane's size), once: the spawn
        dialog and the registry watcher may both ask."""
        if name not in self._starting:
            self._starting.add(name)
            self.screen.call_after_refresh(self._start_new, name)

    async def _add_agent(self, name: str) -> bool:
        """A pane and a row for an agent in deck.records that has none yet."""
        screen = self.screen
        summary = next((s for s in self.deck.summaries() if s.name == name), None)
        if summary is None or name in screen.panes:
            return False
        pane = screen.panes[name] = screen.new_pane(name)
        await screen.query_one("#panes").mount(pane)
        screen.rows = {**screen.rows, name: AgentRow(**vars(summary))}
        screen.fit.layout_panes()
        screen.radar.watch_soon()  # its worktree too
        return True

    async def removed(self, name: str) -> None:
        """An agent was cleaned up: its pane and row go, the radar looks again."""
        from agentdeck.ui.screens.review import ReviewScreen

        screen = self.screen
        app = screen.app
        if isinstance(app.screen, ReviewScreen) and app.screen.rec.name == name:
            app.pop_screen()
        # its row first: whoever sees the pane gone sees the row gone too
        screen.rows = {n: row for n, row in screen.rows.items() if n != name}
        pane = screen.panes.pop(name, None)
        if pane is not None:
            await pane.remove()
        screen.infos.pop(name, None)
        self._starting.discard(name)  # (the name may be used again)
        screen.fit.layout_panes()
        self.deck.records = [r for r in self.deck.records if r.name != name]
        screen.radar.watch_soon()
        screen.radar.stale(None)

    # -- agents made or removed by any client ----------------------------------------------
    def watch_registry(self) -> None:
        """`agentdeck spawn`, `rm`, `prune`, `merge --cleanup` in another terminal, another
        dashboard, a browser, on this machine or a host: every change to the agents shows here
        within a second. The session host watches its registry and tells every dashboard
        attached to it (a host's, through its ssh link); a dashboard that hosts its agents
        itself watches the registry file."""
        if self.deck.persistent:
            self.screen.stop_on_unmount(self.deck.host.on_agents(self._read_agents))
            # …and a look at the registry file's stamp each second, in case the session host's
            # watch missed a change (inotify limits, a busy machine): one stat, no reading
            self._registry_stamp = self._stamp()
            self.screen.set_interval(1.0, self._registry_look)
        else:
            self._registry_watcher = FileWatcher(
                Registry(self.deck.ctx.state_dir).path, self._read_agents).start()
        # …and one reading now: the agents shown were read when the dashboard opened, and a
        # change between then and this watch (an `rm` while the first frame was drawn) would
        # otherwise show only at the next change
        self._in_thread(self._read_agents, "registry")

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
            self._in_thread(self._read_agents, "registry")

    def _read_agents(self) -> None:  # (the watcher's or the session host client's thread)
        number = next(self._readings)  # (itertools.count: atomic, taken before reading)
        self.screen.post_message(AgentsRead(self.deck.read_records(), number))

    async def read(self, records: list[AgentRecord], number: int) -> None:
        """The registry as read now: panes go and come to match it."""
        if number <= self._applied:
            return  # a reading older than one already shown
        self._applied = number
        names = {r.name for r in records}
        self.deck.records = records
        for name in [n for n in self.screen.panes if n not in names]:
            await self.removed(name)
        for rec in records:
            # a dashboard that hosts its agents is the only one that can start a new one (with
            # a daemon, whoever made it started it there)
            if await self._add_agent(rec.name) and not self.deck.persistent:
                self._start_soon(rec.name)

    def _home(self) -> tuple[int, int]:
        return self.screen.fit.home or self.screen.fit.home_size()

    def start_all(self, sizes: dict[str, tuple[int, int]]) -> None:
        def start() -> None:
            self.deck.start_all(sizes)
            for note in self.deck.notes:
                self._tell(note, severity="warning", timeout=10)

        self.screen.run_worker(start, thread=True, exclusive=True, group="start",
                               exit_on_error=False)

    def _start_new(self, name: str) -> None:
        self._start_one(name, *self._home())
        self.screen.select(name)  # selected, not typed into: typing is `i`

    def _start_one(self, name: str, cols: int, rows: int, resume: bool = False) -> None:
        rec = next((r for r in self.deck.records if r.name == name), None)
        if rec is None:  # (removed meanwhile)
            return
        def start() -> None:
            try:
                self.deck.start(rec, cols, rows, resume=resume)
            except (OSError, ValueError, KeyError) as exc:  # (a worker's error shows nowhere)
                self._tell(f"{name}: not started ({exc})", severity="error", timeout=10)

        self._in_thread(start, "start-one")

    def stop_selected(self) -> None:
        name = self.screen.selected_agent
        info = self.screen.infos.get(name or "")
        if name is None or info is None or info.process != "running":
            self.screen.notify(f"{name or 'no agent'} is not running", severity="information")
            return
        self.screen.notify(f"stopping {name} and every process it started…")
        self._stop(name)

    def _stop(self, name: str, then_start: bool = False) -> None:
        def stop() -> None:
            try:
                self.deck.host.stop(name, STOP_GRACE)
            except (OperationError, OSError, KeyError) as exc:
                self._tell(f"{name}: not stopped ({exc})", severity="warning")
                return
            if then_start:
                self.screen.app.call_from_thread(self._resume, name)

        self._in_thread(stop, "stop")

    def _resume(self, name: str) -> None:
        self._start_one(name, *self._home(), resume=True)

    def restart_selected(self) -> None:
        """Restart the selected agent (resuming, where its CLI can), or start an exited one."""
        name = self.screen.selected_agent
        if name is None:
            return
        info = self.screen.infos.get(name)
        running = info is not None and info.process == "running"
        self.screen.notify(f"restarting {name}…" if running else f"starting {name}…")
        if running:
            self._stop(name, then_start=True)
        else:
            self._start_one(name, *self._home(), info is not None)

    def message_selected(self) -> None:
        name = self.screen.selected_agent
        if name is not None:
            self._ask_and_send([name])

    def broadcast(self) -> None:
        marked = sorted(self.screen.agent_list.marked)
        names = marked or [r.name for r in self.screen.rows.values() if r.role != "lead"]
        if names:
            self._ask_and_send(names)

    def _ask_and_send(self, names: list[str]) -> None:
        def sent(text: str | None) -> None:
            if text:
                self._in_thread(lambda: self.deliver(names, text), "message")

        from agentdeck.ui.screens.message import MessageDialog

        self.screen.app.push_screen(MessageDialog(names), sent)

    def deliver(self, names: list[str], text: str) -> None:  # (a worker's thread)
        done: list[str] = []
        held: list[str] = []
        failed: list[str] = []
        for name in names:
            try:
                (held if self.deck.message(name, text) == HELD else done).append(name)
            except (OperationError, OSError, ValueError, KeyError) as exc:
                failed.append(f"{name}: {exc}")
        if done:
            self._tell(f"sent to {', '.join(done)}")
        if held:
            self._tell(f"held for {', '.join(held)}: a prompt waits there; the message goes "
                       "once it is answered", timeout=8)
        for line in failed:
            self._tell(line, severity="warning")

    def stop(self) -> None:
        self._writer.shutdown(wait=False)
        if self._registry_watcher is not None:
            self._registry_watcher.stop()
