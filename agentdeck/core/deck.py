"""A fleet's live side: its sessions, its approvals queue and the rows the dashboard shows.

The CLI and the tests build one with `Deck.open`, hand it to the dashboard, and close it after.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from agentdeck.core.agents import briefs
from agentdeck.core.agents.delivery import type_into
from agentdeck.core.agents.launch import is_shell, session_spec, takes_task, template_for
from agentdeck.core.agents.roster import RosterKeeper, ready_records
from agentdeck.core.agents.sessions import AlreadyRunning, SessionHost, SessionSpec
from agentdeck.core.errors import AgentdeckError, OperationError
from agentdeck.core.fleet.kinds import HOOK_KINDS, KINDS
from agentdeck.core.fleet.options import SandboxSpec
from agentdeck.core.fleet.registry import AgentRecord, Registry
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.fleet.views import describe_database, relative
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.hostlock import hold_daemon_lock, lock_holder
from agentdeck.core.oversight import alerts, hook_channel, hook_install
from agentdeck.core.oversight.approvals import ApprovalQueue, QueueView
from agentdeck.core.oversight.hook_channel import HookServer, socket_path
from agentdeck.core.oversight.outbox import Outbox
from agentdeck.core.oversight.ratelimit import Resumer

if TYPE_CHECKING:
    from agentdeck.core.engine.engine import Engine  # (imported where there is setup work: prepare)

AUDIT_LOG = "audit.jsonl"  # under the registry folder


@dataclass
class AgentSummary:
    name: str
    role: str
    agent: str
    branch: str
    worktree: str
    port: str
    database: str
    host: str = ""  # another host's agent (fleet `hosts`): its name; "": this machine's
    sandbox: str = ""  # "sandboxed" (", no network"): fenced in by core/agents/sandbox.py


@dataclass
class Deck:
    ctx: RepoContext
    fleet: Fleet
    host: SessionHost
    queue: QueueView
    records: list[AgentRecord]
    hooks: HookServer | None = None
    notes: list[str] = field(default_factory=list)  # one-line warnings for the dashboard
    # where agents' hooks reach the approvals queue (this process's, or the daemon's)
    hook_socket: Path | None = None
    persistent: bool = False  # the agents outlive the dashboard (a daemon hosts them)
    _host_lock: int | None = None  # the session-host lock of a deck that hosts its agents
    restart_ended: bool = False  # start_all also restarts agents whose process ended
    resumer: Resumer | None = None  # in-process only: a daemon resumes agents itself
    roster: RosterKeeper | None = None  # in-process only: a daemon keeps the roster itself
    # other hosts' agents (fleet `hosts`): their records, as their daemons sent them
    remote_records: Callable[[], list[AgentRecord]] = list
    refresh_remote: Callable[[], None] = lambda: None  # asks the hosts again (after an rm there)
    _typers: list[threading.Thread] = field(default_factory=list)  # typing first messages

    def __post_init__(self) -> None:
        # messages wait while the agent's prompt does: nothing but an answer answers a prompt;
        # typed as the fleet's kinds need (a shell's line by line)
        self.outbox = Outbox(self.host, self.queue,
                             lambda host, name, text: type_into(host, name, text, self.fleet))

    @classmethod
    def open(cls, ctx: RepoContext, fleet: Fleet, host: SessionHost | None = None,
             clock: Callable[[], float] = time.monotonic) -> Deck:
        """`clock` times the queue's entries (a snapshot test freezes it). Without a `host`,
        the deck hosts its agents itself: it is then the repository's session host, holding
        the same lock a daemon does, so nothing starts them a second time meanwhile."""
        lock = None
        if host is None:
            lock = hold_daemon_lock(ctx.state_dir, "dashboard")
            if lock is None:
                raise OperationError(
                    f"a session host already runs this repository's agents "
                    f"({lock_holder(ctx.state_dir) or 'another process'}); open `agentdeck` "
                    "to use it, or stop it (`agentdeck daemon stop`) first")
            from agentdeck.core.agents.sessions.local import LocalHost  # (PTYs here only)

            host = LocalHost()
        records = ready_records(ctx.state_dir)
        roles = {r.name: r.role for r in records}
        queue = ApprovalQueue(host, ctx.state_dir / AUDIT_LOG, fleet.rules, roles, clock)
        deck = cls(ctx, fleet, host, queue, records)
        deck._host_lock = lock
        deck.roster = RosterKeeper(ctx.state_dir, fleet, host)
        if fleet.rate_limit_resume:
            deck.resumer = Resumer(host, fleet.rate_limit_message, fleet=fleet)
        if fleet.hooks:
            try:
                deck.hooks = HookServer(socket_path(ctx.state_dir), queue.hook_request,
                                        queue.hook_gone, getattr(host, "hint", None),
                                        state_dir=ctx.state_dir)
                deck.hook_socket = deck.hooks.path
            except OSError as exc:
                deck.notes.append(f"approval hooks off, prompts are read from the screens only: "
                                  f"{exc}")
        return deck

    @classmethod
    def attach(cls, ctx: RepoContext, fleet: Fleet, host: SessionHost,
               queue: QueueView) -> Deck:
        """A deck whose sessions and queue live in the session host daemon (the agents go on
        when this deck closes). `queue` is the daemon's, seen through the client."""
        deck = cls(ctx, fleet, host, queue, ready_records(ctx.state_dir), persistent=True)
        if fleet.hooks:
            deck.hook_socket = socket_path(ctx.state_dir)
        return deck

    @property
    def audit_path(self) -> Path:
        return self.ctx.state_dir / AUDIT_LOG

    def reload(self) -> None:
        """Pick up agents made or removed since the deck opened (by any client)."""
        self.records = self.read_records()

    @property
    def local_records(self) -> list[AgentRecord]:
        """This repository's agents (the radar's git and the file watcher see these)."""
        return [r for r in self.records if not r.host]

    def read_records(self) -> list[AgentRecord]:
        """Every agent made: this repository's, then other hosts' (fleet `hosts`)."""
        return [*ready_records(self.ctx.state_dir), *self.remote_records()]

    def summaries(self) -> list[AgentSummary]:
        out = []
        for rec in self.records:
            ports = ",".join(str(p) for p in rec.port_numbers)
            where = f"{rec.host}:{rec.worktree}" if rec.host else relative(rec.worktree)
            sandbox = self.sandbox_of(rec.name)
            fenced = ("sandboxed" + ("" if sandbox.network else ", no network")
                      if sandbox.on else "")
            out.append(AgentSummary(rec.name, rec.role, rec.agent, rec.branch, where, ports,
                                    describe_database(rec.database), rec.host, fenced))
        return out

    def start_all(self, sizes: Mapping[str, tuple[int, int]] | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> None:
        """Start every agent not running yet, each at its pane's (cols, rows), `stagger`
        seconds apart (rate limits)."""
        known = {info.name: info for info in self.host.sessions()}
        started = 0
        elsewhere: dict[str, list[str]] = {}  # host → its agents to start there
        for rec in self.records:
            info = known.get(rec.name)
            ended = info is not None and info.process in ("exited", "failed")
            if info is not None and not (ended and self.restart_ended):
                continue  # running, or ended and shown as it ended (`agentdeck start` restarts)
            if rec.host:
                elsewhere.setdefault(rec.host, []).append(rec.name)
                continue
            if started and self.fleet.stagger:
                sleep(self.fleet.stagger)
            try:
                self.start(rec, *(sizes or {}).get(rec.name, (100, 30)), resume=ended)
            except AlreadyRunning:
                continue  # started meanwhile by another client (a second dashboard, the CLI)
            started += 1
        starters = [threading.Thread(target=self._start_there, args=(host, names), daemon=True)
                    for host, names in elsewhere.items()]
        for starter in starters:  # (each host's agentdeck types their tasks: in parallel)
            starter.start()
        for starter in starters:
            starter.join()

    def _start_there(self, host: str, names: list[str]) -> str | None:
        """Start agents on another host, through its agentdeck (briefs, hooks, env: all
        there); returns why they did not start, also kept in `notes`."""
        from agentdeck.core.agents import remote

        try:
            remote.check(self.fleet, self.fleet.hosts[host], ["start", *names])
        except AgentdeckError as exc:
            self.notes.append(f"{', '.join(names)}: not started: {exc}")
            return str(exc)
        return None

    def start(self, rec: AgentRecord, cols: int = 100, rows: int = 30,
              resume: bool = False) -> str | None:
        """Start an agent's session; `resume`: it ran before (the fleet's `resume:` command).
        Its brief (task and scope, or where the lead's roster is) goes on its command line; a
        task the command line does not carry is typed as its first message once it is ready.
        Returns why it could not start (its session then shows that, as failed), or None."""
        if rec.host:
            return self._start_there(rec.host, [rec.name])
        try:
            brief = briefs.brief_for(self.fleet, rec, self.ctx.state_dir, self.records,
                                     self._states())
            spec = session_spec(self.fleet, rec, cols, rows, resume, brief)
            if spec.channel == "acp":  # its requests come by the protocol, not a hook
                spec = replace(spec, state_file=str(self.ctx.state_dir / "acp" /
                                                    f"{rec.name}.json"))
            else:
                spec = self._with_hook(rec, spec)
            spec = self._sandboxed(rec, spec)
        except AgentdeckError as exc:
            # the session shows as failed, with this reason in its pane and the sidebar
            spec = SessionSpec(rec.name, (), rec.worktree, {}, rec.agent, cols, rows,
                               error=str(exc))
        self.host.spawn(spec)
        template = template_for(self.fleet, rec, resume) or ""
        # (an ACP agent's task is its first prompt; a shell would run the task as a command)
        if rec.task and not resume and not spec.error and not takes_task(template) and \
                spec.channel != "acp" and not is_shell(self.fleet, rec.agent):
            self._type_task(rec.name, rec.task)
        return spec.error

    def _type_task(self, name: str, task: str) -> None:
        """Type an agent's task as its first message, once it is ready (in a thread: a
        command that ends soon after waits for it with `wait_for_tasks`)."""
        typer = threading.Thread(target=self._first_message, args=(name, task), daemon=True,
                                 name=f"task-{name}")
        self._typers.append(typer)
        typer.start()

    @property
    def typing(self) -> list[str]:
        """The agents whose task is being typed (or waits for them to be ready)."""
        return [t.name.removeprefix("task-") for t in self._typers if t.is_alive()]

    def wait_for_tasks(self, timeout: float = 120.0) -> list[str]:
        """Wait until the tasks being typed are typed (or their agents gave up); returns the
        agents whose task was still waiting when `timeout` ran out."""
        deadline = time.monotonic() + timeout
        for typer in self._typers:
            typer.join(max(0.0, deadline - time.monotonic()))
        return self.typing

    def _first_message(self, name: str, task: str, timeout: float = 120.0) -> None:
        with contextlib.suppress(TimeoutError, AgentdeckError, OSError, KeyError, ValueError):
            self.host.wait_for(name, lambda i: i.state == "idle" or i.process != "running",
                               timeout)
            self.message(name, task)

    def _states(self) -> dict[str, str]:
        return {i.name: i.state for i in self.host.sessions()}

    def channel_of(self, name: str) -> str:
        """How the agent is driven, "pty" or "acp": its fleet entry's, else its record's."""
        entry = self.fleet.agent(name)
        if entry is not None:
            return entry.channel
        rec = next((r for r in self.records if r.name == name), None)
        return rec.channel if rec is not None else self.fleet.defaults.channel

    def sandbox_of(self, name: str) -> SandboxSpec:
        """The agent's sandbox as the fleet file says (its entry, else the defaults)."""
        return (self.fleet.agent(name) or self.fleet.defaults).sandbox

    def _sandboxed(self, rec: AgentRecord, spec: SessionSpec) -> SessionSpec:
        sandbox = self.sandbox_of(rec.name)
        if not sandbox.on:
            return spec
        from agentdeck.core.agents import sandbox as fence

        # what of the registry folder it reads: its hook settings, the briefs (its own, and
        # the lead's roster, which is rewritten as agents change: the folder, not a file)
        visible = [self.ctx.state_dir / hook_install.HOOKS_DIR /
                   hook_install.claude_settings_name(rec.name),
                   briefs.folder(self.ctx.state_dir)]
        return fence.wrap(spec, sandbox, rec, self.ctx.common_dir, self.ctx.main_root,
                          self.local_records, self.ctx.state_dir, hook_socket=self.hook_socket,
                          visible=visible)

    def _with_hook(self, rec: AgentRecord, spec: SessionSpec) -> SessionSpec:
        """Point Claude Code's or Codex's PermissionRequest hook at this dashboard."""
        cli = hook_cli(rec.agent, spec.argv)
        if self.hook_socket is None or cli is None:
            return spec
        timeout = self.fleet.hook_timeout
        command = hook_install.hook_command(rec.name, cli, self.hook_socket, timeout)
        # the hook speaks as this agent only: a token no other agent has (a sandboxed agent
        # reaches the hook's socket, and must not queue or end prompts in another's name)
        token = hook_channel.agent_token(self.ctx.state_dir, rec.name)
        spec = replace(spec, env={**spec.env, hook_channel.TOKEN_VAR: token})
        if cli == "codex":
            return replace(spec, argv=tuple(hook_install.with_codex_hook(list(spec.argv),
                                                                         command, timeout)))
        try:
            path = hook_install.claude_settings(self.ctx.state_dir, rec.name, command, timeout)
        except OSError as exc:
            self.notes.append(f"{rec.name}: no approval hook, its prompts are read from its "
                              f"screen ({exc})")
            return spec
        return replace(spec, argv=tuple(hook_install.with_claude_settings(list(spec.argv),
                                                                          path)))

    def message(self, name: str, text: str) -> str:
        """Type `text` into an agent and submit it (blocking: it waits for the agent's screen
        to show the text before Enter; call it off the UI's event loop) — or, while a prompt of
        that agent waits, hold it until the prompt is answered. Returns SENT or HELD."""
        return self.outbox.send(name, text)

    def notify_command(self, agent: str, summary: str) -> None:
        """The user's optional command for a new prompt (a webhook call, a phone push)."""
        alerts.prompt_waiting(agent, summary, self.fleet.notify.command)

    def close(self) -> None:
        if self.roster is not None:
            self.roster.close()
        self.outbox.close()
        if self.resumer is not None:
            self.resumer.close()
        if self.hooks is not None:
            self.hooks.close()
        self.queue.close()
        self.host.close()
        if self._host_lock is not None:  # its agents are gone: another host may start them
            os.close(self._host_lock)
            self._host_lock = None


def hook_cli(kind: str, argv: Sequence[str]) -> str | None:
    """Which hook an agent takes: both are flags on the command line (Claude Code's
    `--settings`, Codex's `-c hooks=`), so only a command that runs the executable of a kind
    that takes the hook (the registry's `hook`) itself gets them; a wrapper script or a
    look-alike is watched through its screen."""
    program = Path(argv[0]).name if argv else ""
    return next((name for name in HOOK_KINDS if KINDS[name].executable == program), None)


def prepare(ctx: RepoContext, fleet: Fleet,
            engine: Callable[[], Engine] | None = None) -> None:
    """Make sure every agent of the fleet has its workspace before the dashboard opens.
    `engine` makes the engine that does it (one that reports progress), when there is work."""
    registry = Registry(ctx.state_dir).load()
    # (agents of other hosts are made there: daemon/host_set.attach_hosts)
    missing = [a.name for a in fleet.agents if not a.host and a.name not in registry.agents]
    if missing:  # (one that cannot be made says why; the others come up)
        # (the engine's setup work loads only when there is some: a dashboard opened on a
        # prepared fleet starts without it)
        from agentdeck.core.engine.engine import Engine

        (engine() if engine else Engine(ctx, fleet)).up(missing)
