"""The spawn dialog (s): a new agent from the dashboard, checked as you type, created through
the same path as `agentdeck spawn` with its steps shown as they happen (worktree, env, port,
database, install), then started in a new pane. Cancel makes nothing; a failed step rolls back
what the earlier ones made; the agent can be written back to the fleet file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, RichLog, Select, TextArea

from agentdeck.core.agents.launch import is_shell
from agentdeck.core.engine import spawning
from agentdeck.core.engine.candidates import MOST, Groups, plan_fanout, record_group
from agentdeck.core.engine.engine import Engine
from agentdeck.core.engine.setup import SetupEvent
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.edits import add_to_fleet_file
from agentdeck.core.fleet.kinds import acp_template
from agentdeck.core.fleet.spec import CHANNELS, AgentSpec, Fleet
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.names import ROLES

DB_MODES = ["none", "sqlite", "postgres-db", "postgres-schema", "compose"]


@dataclass(frozen=True)
class Spawned:
    name: str
    written_back: bool
    names: tuple[str, ...] = ()  # a fanout's candidates (NAME-1 … NAME-N), else none


class SpawnDialog(ModalScreen[Spawned | None]):
    DEFAULT_CSS = """
    SpawnDialog { align: center middle; }
    SpawnDialog > VerticalScroll {
        width: 100%; max-width: 110; height: auto; max-height: 100%;
        border: round $accent; border-title-color: $accent; background: $surface;
        padding: 0 1;
    }
    SpawnDialog .field { height: auto; }
    SpawnDialog .field > Label.name { width: 10; color: $text-muted; }
    SpawnDialog .field > Input, SpawnDialog .field > Select { width: 1fr; }
    SpawnDialog Label.check { color: $text-muted; height: auto; margin: 0 0 0 10; }
    SpawnDialog Label.check.-bad { color: $error; }
    SpawnDialog Label.check.-empty { display: none; }
    SpawnDialog TextArea { height: 3; width: 1fr; }
    SpawnDialog RichLog { height: 6; border: round $panel; display: none; }
    SpawnDialog RichLog.-running { display: block; }
    SpawnDialog #buttons { height: 1; margin-top: 1; }
    SpawnDialog #buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "create", "create", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]

    def __init__(self, ctx: RepoContext, fleet: Fleet) -> None:
        super().__init__()
        self.ctx, self.fleet = ctx, fleet
        self._checks: dict[str, bool] = {"name": False, "branch": False, "base": True,
                                         "fanout": True}
        self._messages: dict[str, str] = {"name": "a name is needed",
                                          "branch": "a branch is needed (the name fills it in)"}
        self._branch_touched = False
        self.busy = False

    def compose(self) -> ComposeResult:
        d = self.fleet.defaults
        kinds = spawning.agent_kinds(self.fleet)
        options = [(kind if why is None else f"{kind} — {why}", kind) for kind, why in kinds]
        installed = [k for k, why in kinds if why is None]
        default = d.agent if d.agent in installed else (installed[0] if installed else None)
        box = VerticalScroll()
        box.border_title = "new agent"
        box.border_subtitle = "ctrl+s create · esc cancel"
        with box:
            # each field keeps its label beside it, filled or not
            yield from _field("name", Input(placeholder="e.g. search", id="name", compact=True))
            yield from _field("branch", Input(placeholder="agentdeck/NAME", id="branch",
                                              compact=True))
            base = self.fleet.base or "the default branch"
            yield from _field("base", Input(placeholder=f"default {base}", id="base",
                                            compact=True))
            yield from _field("agent", Select(
                options, id="agent", prompt="agent kind", allow_blank=default is None,
                value=default if default is not None else Select.BLANK, compact=True))
            # pty: the agent's own TUI in a terminal; acp: its conversation through the Agent
            # Client Protocol (a kind with an ACP mode, or a command of the fleet's that has one)
            yield from _field("channel", Select([(c, c) for c in CHANNELS], id="channel",
                                                value=d.channel, allow_blank=False,
                                                compact=True))
            yield from _field("role", Select([(r, r) for r in ROLES], id="role", value="worker",
                                             allow_blank=False, compact=True), check=False)
            yield from _field("model", Input(value=d.model or "", placeholder="blank: the "
                                             "fleet's", id="model", compact=True), check=False)
            yield from _field("task", TextArea(id="task", compact=True), check=False)
            yield from _field("fanout", Input(value="1", id="fanout", compact=True,
                                              placeholder="1, or N candidates on the task: "
                                              "NAME-1 … NAME-N (agentdeck compare NAME)"))
            yield from _field("forbid", Input(value=", ".join(d.forbid), placeholder="paths, "
                                              "comma-separated", id="forbid", compact=True),
                              check=False)
            yield from _field("database", Select([(m, m) for m in DB_MODES], id="database",
                                                 value=d.database.mode, allow_blank=False,
                                                 compact=True), check=False)
            yield from _field("setup", Input(value="; ".join(d.setup), placeholder="commands, "
                                             "; separated", id="setup", compact=True),
                              check=False)
            yield Checkbox("write it to the fleet file", id="write-back", compact=True,
                           value=self.fleet.path is not None, disabled=self.fleet.path is None)
            yield RichLog(id="progress", wrap=True, markup=True)
            with Horizontal(id="buttons"):
                yield Button("create", id="create", variant="primary", disabled=True,
                             compact=True)
                yield Button("cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self._load_refs()
        self._check_agent()

    # -- live checks (git runs in a thread: never on the event loop) --------------------------
    @work(thread=True, group="refs")
    def _load_refs(self) -> None:
        refs = spawning.refs(self.ctx)
        self.app.call_from_thread(self._set_refs, refs)

    def _set_refs(self, refs: list[str]) -> None:
        self.query_one("#base", Input).suggester = SuggestFromList(refs, case_sensitive=True)

    @on(Input.Changed, "#name")
    def _name_changed(self, event: Input.Changed) -> None:
        if not self._branch_touched:
            branch = self.query_one("#branch", Input)
            with branch.prevent(Input.Changed):
                branch.value = spawning.suggest_branch(event.value)
            self._validate("branch", branch.value)
        self._validate("name", event.value)

    @on(Input.Changed, "#branch")
    def _branch_changed(self, event: Input.Changed) -> None:
        self._branch_touched = True
        self._validate("branch", event.value)

    @on(Input.Changed, "#base")
    def _base_changed(self, event: Input.Changed) -> None:
        self._validate("base", event.value)

    @on(Input.Changed, "#fanout")
    def _fanout_changed(self, event: Input.Changed) -> None:
        text = event.value.strip() or "1"
        if not (text.isdigit() and 1 <= int(text) <= MOST):
            self._show("fanout", False, f"a number of candidates, 1 to {MOST}")
            return
        count = int(text)
        self._show("fanout", True, "" if count == 1 else f"{count} agents on the same task: "
                   f"NAME-1 … NAME-{count}, each on a branch of its own")

    @property
    def fanout(self) -> int:
        text = self.query_one("#fanout", Input).value.strip()
        return int(text) if text.isdigit() else 1

    @on(Select.Changed, "#agent")
    @on(Select.Changed, "#channel")
    def _check_agent(self) -> None:
        kind = self.query_one("#agent", Select).value
        channel = self.query_one("#channel", Select).value
        acp_less = channel == "acp" and isinstance(kind, str) and acp_template(
            kind, self.fleet.commands) is None
        self._show("channel", not acp_less, f"{kind} has no ACP mode agentdeck knows: pty, or "
                   f"a command of its own in commands:" if acp_less else "")
        why = dict(spawning.agent_kinds(self.fleet)).get(kind) if isinstance(kind, str) else None
        shell = isinstance(kind, str) and is_shell(self.fleet, kind)
        self._show("agent", why is None and isinstance(kind, str),
                   why or ("" if isinstance(kind, str) else "no agent kind is installed") or (
                       "a shell: the task is not typed into it (it would run as a command)"
                       if shell else ""))

    def _validate(self, field: str, value: str) -> None:
        checker = {"name": spawning.check_name, "branch": spawning.check_branch,
                   "base": spawning.check_base}[field]

        def run() -> None:
            check = checker(self.ctx, value.strip())
            self.app.call_from_thread(self._show, field, check.ok, check.message)

        # one check per field at a time (a newer value supersedes an older one's check)
        self.run_worker(run, thread=True, exclusive=True, group=f"validate-{field}")

    def _show(self, field: str, ok: bool, message: str) -> None:
        label = self.query_one(f"#{field}-check", Label)
        label.update(message)
        label.set_class(not ok, "-bad")
        label.set_class(not message, "-empty")
        self._messages[field] = message
        self._checks[field] = ok
        self.query_one("#create", Button).disabled = self.busy or not all(self._checks.values())

    # -- creating -----------------------------------------------------------------------------
    def _spec(self) -> AgentSpec:
        value = lambda wid: self.query_one(f"#{wid}", Input).value.strip()  # noqa: E731
        kind = self.query_one("#agent", Select).value
        role = self.query_one("#role", Select).value
        mode = self.query_one("#database", Select).value
        channel = self.query_one("#channel", Select).value
        spec = self.fleet.spec_for(
            value("name"), value("branch"), base=value("base") or None,
            channel=channel if isinstance(channel, str) else None,
            agent=kind if isinstance(kind, str) else None,
            role=role if isinstance(role, str) else None, model=value("model") or None,
            task=self.query_one("#task", TextArea).text.strip() or None,
            forbid=tuple(p.strip() for p in value("forbid").split(",") if p.strip()),
            setup=tuple(c.strip() for c in value("setup").split(";") if c.strip()))
        if isinstance(mode, str):
            spec = replace(spec, database=replace(spec.database, mode=mode))
        return spec

    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        if self.busy:
            return
        bad = [field for field, ok in self._checks.items() if not ok]
        if bad:  # say why beside each field (it stays), and go to the first one to fix
            for field in bad:
                self._show(field, False, self._messages.get(field) or "not valid")
            self.notify("; ".join(f"{field}: {self._messages.get(field) or 'not valid'}"
                                  for field in bad), severity="warning", timeout=6)
            self.query_one(f"#{bad[0]}").focus()
            return
        self.busy = True
        self.query_one("#create", Button).disabled = True
        progress = self.query_one("#progress", RichLog)
        progress.clear()
        progress.add_class("-running")
        self.call_after_refresh(progress.scroll_visible)  # its steps in view as they come
        self._create(self._spec(), self.query_one("#write-back", Checkbox).value, self.fanout)

    @work(thread=True, exclusive=True, group="create", exit_on_error=False)
    def _create(self, spec: AgentSpec, write_back: bool, count: int = 1) -> None:
        def say(text: str) -> None:
            self.app.call_from_thread(self._say, text)

        def on_setup(event: SetupEvent) -> None:
            if event.kind in ("command", "done"):
                say(f"install: {event.text}" if event.text else "install: done")

        say("worktree, env, port, database …")
        engine = Engine(self.ctx, self.fleet, notify=lambda _a, m: say(m), on_setup=on_setup)
        specs = [spec]
        try:
            if count > 1:  # candidates of one group, as `agentdeck fanout` makes them
                specs = [replace(spec, name=c.name, branch=c.branch) for c in plan_fanout(
                    self.ctx, self.fleet, spec.name, spec.task or "", count, [spec.agent])]
                record_group(self.ctx, spec.name, spec.task or "", specs)
            result = engine.spawn(*specs)
            if result.failed:
                raise next(iter(result.failed.values()))
        except AgentdeckError as exc:
            if count > 1:
                Groups(self.ctx.state_dir).forget([s.name for s in specs])
            say(f"[b red]failed:[/b red] {exc} — nothing of it is left")
            self.app.call_from_thread(self._failed)
            return
        written = False
        if write_back and self.fleet.path is not None:
            try:
                for one in specs:
                    add_to_fleet_file(self.fleet.path, one)
                written = True
            except AgentdeckError as exc:  # the agent exists all the same: say what was made
                view = next((v for v in engine.views() if v.name == spec.name), None)
                made = (f"worktree {view.worktree}, branch {view.branch}, port "
                        f"{', '.join(map(str, sorted(set(view.ports.values())))) or '-'}, "
                        f"database {view.database}") if view else "its workspace"
                say(f"[b yellow]made, but not added to the fleet file:[/b yellow] {exc}; "
                    f"{spec.name} has its {made} (add it to the file by hand)")
        say("starting …")
        names = tuple(s.name for s in specs) if count > 1 else ()
        self.app.call_from_thread(self.dismiss, Spawned(specs[0].name, written, names))

    def _say(self, text: str) -> None:
        self.query_one("#progress", RichLog).write(text)

    def _failed(self) -> None:
        self.busy = False
        self.query_one("#create", Button).disabled = not all(self._checks.values())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)


def _field(name: str, widget: Widget, check: bool = True) -> Iterator[Widget]:
    """A labelled row, and under it the line its live check writes to (when it has one)."""
    with Horizontal(classes="field"):
        yield Label(name, classes="name")
        yield widget
    if check:
        yield Label("", id=f"{name}-check", classes="check -empty")
