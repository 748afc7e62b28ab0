"""The `agentdeck` command. Every error is one line `agentdeck: error: …` and an exit status:
2 for usage and configuration errors, 1 for failed operations, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from agentdeck import __version__
from agentdeck.commands import sessions
from agentdeck.core.config import (
    NAME_RE,
    ROLES,
    Fleet,
    empty_fleet,
    find_fleet_file,
    load_fleet,
)
from agentdeck.core.errors import AgentdeckError, OperationError, UsageError
from agentdeck.core.fleet import Engine, UpResult
from agentdeck.core.registry import Registry
from agentdeck.core.repo import RepoContext, open_repo
from agentdeck.core.sessions import state_label
from agentdeck.progress import SetupProgress, failure_report, fleet_table

NOT_STARTED = ("agents not started (--no-start, or no terminal to show them in): run `agentdeck` "
               "to open the dashboard, which starts every agent in its own pane")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="agentdeck", description="Run coding agents in parallel, each in its "
                     "own git worktree, port, database and env.")
    parser.add_argument("--version", action="version", version=f"agentdeck {__version__}")
    parser.add_argument("-C", dest="directory", type=Path, default=None,
                        help="run as if started in this directory")
    # its own dest: a subcommand's -f default would otherwise overwrite `agentdeck -f X up`
    parser.add_argument("-f", "--file", dest="top_file", type=Path, default=None,
                        help="fleet file (default: ./agentdeck.yaml)")
    parser.add_argument("--theme", default=None, help="dashboard theme: agentdeck-dark, "
                        "agentdeck-light, agentdeck-high-contrast or any Textual theme")
    parser.add_argument("--no-daemon", action="store_true",
                        help="run the agents inside the dashboard process (they stop when it "
                        "quits) instead of in the session host daemon")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def fleet_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("-f", "--file", type=Path, default=None,
                       help="fleet file (default: ./agentdeck.yaml, then the repository root's)")

    up = sub.add_parser("up", help="create every agent's worktree, env, port and database")
    fleet_arg(up)
    up.add_argument("names", nargs="*", help="only these agents")
    up.add_argument("--no-start", action="store_true",
                    help="prepare workspaces only; without it, the dashboard opens and starts "
                    "the agents (when there is a terminal)")

    ls = sub.add_parser("ls", help="list agents: branch, worktree, port, database, state")
    ls.add_argument("--json", action="store_true", help="a JSON list of objects")
    ls.add_argument("--names", action="store_true", help="the agents' names, one a line")
    completion = sub.add_parser("completion", help="a completion script: eval \"$(agentdeck "
                                "completion bash)\" (zsh alike; fish: | source)")
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])

    spawn = sub.add_parser("spawn", help="add one agent to the fleet")
    fleet_arg(spawn)
    spawn.add_argument("name")
    spawn.add_argument("--branch", "-b", help="branch (default: agentdeck/NAME)")
    spawn.add_argument("--base", help="where a new branch starts (default: the fleet's base)")
    spawn.add_argument("--agent", help="agent kind: claude, codex, aider, gemini, shell, ...")
    spawn.add_argument("--task", help="what this agent should do")
    spawn.add_argument("--model", help="model name passed to the agent")
    spawn.add_argument("--role", choices=ROLES, help="lead or worker (default worker)")
    spawn.add_argument("--no-save", action="store_true",
                       help="do not add the agent to the fleet file")

    rm = sub.add_parser("rm", help="remove an agent's worktree and free its port")
    fleet_arg(rm)
    rm.add_argument("name")
    rm.add_argument("--force", action="store_true",
                    help="discard uncommitted work and unmerged commits")
    rm.add_argument("--delete-branch", action="store_true", help="also delete the branch")
    rm.add_argument("--drop-db", action="store_true", help="also drop the agent's database")

    sub.add_parser("init", help="write a commented agentdeck.yaml for this repository")
    sub.add_parser("prune", help="git worktree prune, and forget agents whose worktree is gone")
    sub.add_parser("doctor", help="check git, PostgreSQL, docker and agent CLIs")
    demo = sub.add_parser("demo", help="try agentdeck on a throwaway repository (no API key)")
    demo.add_argument("--dir", type=Path, default=None, help="where to make it (default: a temp "
                      "folder)")
    demo.add_argument("--no-ui", action="store_true",
                      help="prepare the demo and print a tour instead of opening the dashboard")

    detect = sub.add_parser("detect", help="screen text in, JSON state and pending prompt out")
    detect.add_argument("file", nargs="?", default="-", help="a screen as text (default: stdin)")
    detect.add_argument("--agent", default=None,
                        help="claude, codex, aider, gemini or generic (default: try all)")
    detect.add_argument("--raw", action="store_true",
                        help="the input is raw PTY bytes: render them through the emulator first")
    detect.add_argument("--cols", type=_bounded(2, 1000, "columns"), default=None,
                        help="screen width: with --raw the emulator's (default 120); with text, "
                        "rows this long are taken as wrapped and joined")
    detect.add_argument("--rows", type=_bounded(2, 1000, "rows"), default=40,
                        help="screen height for --raw")

    daemon = sub.add_parser("daemon", help="the session host that keeps agents running while no "
                            "dashboard is open: run | start | status | stop | restart")
    daemon.add_argument("action", nargs="?", default="status",
                        choices=["run", "start", "status", "stop", "restart"])
    daemon.add_argument("--state-dir", type=Path, default=None, help=argparse.SUPPRESS)
    daemon.add_argument("--fleet", type=Path, default=None, help=argparse.SUPPRESS)
    fleet_arg(daemon)

    logs = sub.add_parser("logs", help="print an agent's output transcript")
    logs.add_argument("name")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new output")

    stop = sub.add_parser("stop", help="stop agents and every process they started (their "
                          "worktree, port and database stay)")
    stop.add_argument("names", nargs="+", metavar="NAME")
    restart = sub.add_parser("restart", help="stop agents and start them again, resuming")
    fleet_arg(restart)
    restart.add_argument("names", nargs="+", metavar="NAME")

    start = sub.add_parser("start", help="start (or restart) agents in the session host")
    fleet_arg(start)
    start.add_argument("names", nargs="*", help="only these agents (default: every agent "
                       "not running)")

    diff = sub.add_parser("diff", help="an agent's changes against its base (plain, for pipes)")
    diff.add_argument("name")
    diff.add_argument("--uncommitted", action="store_true",
                      help="include what is on disk in its worktree, not yet committed")

    conflicts = sub.add_parser("conflicts", help="which agents' work collides, on which files "
                               "(uncommitted work included), and forbidden paths touched")
    conflicts.add_argument("--json", action="store_true")
    conflicts.add_argument("--committed", action="store_true",
                           help="branch tips only, without what is on disk")

    merge = sub.add_parser("merge", help="merge an agent's branch (refused when the target is "
                           "dirty or it would conflict)")
    merge.add_argument("name")
    how = merge.add_mutually_exclusive_group()
    how.add_argument("--squash", action="store_true")
    how.add_argument("--no-ff", action="store_true")
    merge.add_argument("--into", default=None, help="target branch (default: the agent's base)")
    merge.add_argument("--cleanup", action="store_true", help="then remove its worktree, "
                       "branch, database and port")

    serve = sub.add_parser("serve", help="the dashboard in a browser (phones too), attached to "
                           "the daemon, behind a token printed once")
    fleet_arg(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; anything else is reachable "
                       "from other machines)")
    serve.add_argument("--port", type=_bounded(1, 65535, "a TCP port"), default=8321)

    hook = sub.add_parser("hook", add_help=False,
                          help="run by Claude Code / Codex PermissionRequest hooks: hand the "
                          "request to the dashboard and print its decision")
    hook.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _bounded(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high` (else a usage error, exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not {what} ({low}-{high})")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.directory is not None:
            try:
                os.chdir(args.directory)
            except OSError as exc:
                raise UsageError(f"-C {args.directory}: {exc.strerror.lower()}") from None
        return _dispatch(args)
    except AgentdeckError as exc:
        print(f"agentdeck: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("agentdeck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`agentdeck logs auth | head`): that is the end, not an error;
        # stdout goes to /dev/null so the interpreter's own flush at exit stays quiet too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if os.environ.get("AGENTDECK_DEBUG"):
            raise
        print(f"agentdeck: error: internal error: {type(exc).__name__}: {exc} (set "
              "AGENTDECK_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "doctor":
        return cmd_doctor()
    if command == "detect":
        return cmd_detect(args)
    if command == "completion":
        from agentdeck.commands.completion import cmd_completion

        return cmd_completion(build_parser(), args.shell)
    if command == "hook":
        from agentdeck.hook_client import main as hook_main

        return hook_main(args.rest)
    if command == "demo":
        from agentdeck.demo import run_demo

        return run_demo(args.dir, ui=not args.no_ui and _interactive(), theme=args.theme)
    if command == "daemon" and args.action == "run" and args.state_dir is not None:
        from agentdeck.daemon.server import run_daemon

        return run_daemon(args.state_dir, args.fleet)
    ctx = open_repo(Path.cwd())
    explicit = getattr(args, "file", None) or args.top_file
    if command is None:
        return open_dashboard(ctx, _fleet(ctx, explicit, required=False), args.theme,
                              daemon=not args.no_daemon)
    if command == "daemon":
        return cmd_daemon(ctx, _fleet(ctx, explicit, required=False), args.action)
    if command == "logs":
        return cmd_logs(ctx, args.name, args.follow)
    if command == "start":
        return cmd_start(ctx, _fleet(ctx, explicit, required=False), args.names)
    if command == "stop":
        return sessions.cmd_stop(ctx, args.names)
    if command == "restart":
        return sessions.cmd_restart(ctx, _fleet(ctx, explicit, required=False), args.names)
    if command in ("diff", "conflicts", "merge"):
        return cmd_review(ctx, _fleet(ctx, explicit, required=False), args)
    if command == "serve":
        return cmd_serve(ctx, _fleet(ctx, explicit, required=False), args.host, args.port)
    if command == "prune":
        return cmd_prune(ctx)
    if command == "init":
        from agentdeck.commands.init import cmd_init

        return cmd_init(ctx)
    if command == "ls" and args.names:  # for shell completion: fast, no git
        for name in sorted(Registry(ctx.state_dir).load().agents):
            print(name)
        return 0
    fleet = _fleet(ctx, explicit, required=command == "up")
    engine = Engine(ctx, fleet, notify=_notify, on_setup=SetupProgress())
    for note in engine.reconcile():
        print(f"note: {note}", file=sys.stderr)
    if command == "up":
        status = _report_up(engine, engine.up(args.names), started=not args.no_start)
        if args.no_start or not _interactive() or status:
            return status
        return open_dashboard(ctx, fleet, args.theme, daemon=not args.no_daemon, restart=True)
    if command == "ls":
        return cmd_ls(engine, args.json)
    if command == "spawn":
        return cmd_spawn(engine, fleet, args)
    if command == "rm":
        return cmd_rm(ctx, fleet, args)
    raise UsageError(f"unknown command {command}")


def _fleet(ctx: RepoContext, explicit: Path | None, required: bool) -> Fleet:
    path = find_fleet_file(Path.cwd(), explicit) or find_fleet_file(ctx.main_root, None)
    if path is None:
        # The fleet an earlier `up` used still gives spawn its defaults.
        recorded = [r.fleet_file for r in Registry(ctx.state_dir).load().agents.values()
                    if r.fleet_file and Path(r.fleet_file).is_file()]
        path = Path(recorded[-1]) if recorded else None
    if path is None:
        if required:
            raise UsageError("no fleet file: pass -f FLEET or create agentdeck.yaml (the package's "
                             "sample_fleet.yaml documents every key)")
        return empty_fleet()
    return load_fleet(path)


def _notify(agent: str, message: str) -> None:
    print(f"  {agent}: {message}", flush=True)


def _interactive() -> bool:
    # under `agentdeck serve`, textual-serve runs the dashboard with its web driver
    return (sys.stdin.isatty() and sys.stdout.isatty()) or "TEXTUAL_DRIVER" in os.environ


def open_dashboard(ctx: RepoContext, fleet: Fleet, theme: str | None = None,
                   daemon: bool = True, restart: bool = False) -> int:
    from agentdeck.core.deck import Deck, prepare
    from agentdeck.ui.app import AgentdeckApp

    if not _interactive():
        raise UsageError("the dashboard needs a terminal; use `agentdeck ls` or `agentdeck up "
                         "--no-start` from scripts")
    prepare(ctx, fleet, Engine(ctx, fleet, notify=_notify, on_setup=SetupProgress()))
    deck = _attach_deck(ctx, fleet) if daemon else Deck.open(ctx, fleet)
    deck.restart_ended = restart  # `up` brings back agents that ended; plain `agentdeck` shows them
    if not deck.records:
        if fleet.path is None:
            raise UsageError("no agentdeck.yaml here: `agentdeck init` writes one for this "
                             "repository, `agentdeck demo` shows one at work")
        raise UsageError("no agents yet: `agentdeck up` creates the fleet's, `agentdeck spawn "
                         "NAME` adds one, `agentdeck demo` shows one")
    try:
        # a dashboard served to a browser only watches: it never resizes the agents
        app = AgentdeckApp(deck, theme=theme, viewer="TEXTUAL_DRIVER" in os.environ)
        app.run()
        running = [i.name for i in deck.host.sessions() if i.process == "running"]
    finally:
        deck.close()
    if deck.persistent and running:
        print(f"agentdeck: {len(running)} agent{'s' * (len(running) != 1)} keep running in the "
              "session host: `agentdeck` shows them again, `agentdeck stop NAME` stops one")
    return app.return_code or 0  # a crash inside the dashboard is not a success


def _attach_deck(ctx: RepoContext, fleet: Fleet):  # type: ignore[no-untyped-def]
    from agentdeck.core.deck import Deck
    from agentdeck.daemon import lifecycle
    from agentdeck.daemon.client import RemoteQueue

    host = lifecycle.ensure(ctx.state_dir, fleet.path)
    return Deck.attach(ctx, fleet, host, RemoteQueue(host))


def cmd_daemon(ctx: RepoContext, fleet: Fleet, action: str) -> int:
    from agentdeck.daemon import lifecycle

    if action == "run":  # in the foreground, for a service manager or by hand
        from agentdeck.daemon.server import run_daemon

        if lifecycle.connect(ctx.state_dir) is not None:
            raise OperationError("a session host daemon already runs for this repository "
                                 "(`agentdeck daemon status`)")
        return run_daemon(ctx.state_dir, fleet.path)
    if action == "start":
        host = lifecycle.ensure(ctx.state_dir, fleet.path)
        print(f"agentdeck daemon running (pid {host.daemon_pid})")
        host.close()
        return 0
    if action == "restart":  # e.g. after upgrading agentdeck: the new version's session host
        lifecycle.stop(ctx.state_dir)
        host = lifecycle.ensure(ctx.state_dir, fleet.path)
        print(f"agentdeck daemon restarted (pid {host.daemon_pid}); its agents ended with the "
              "old one: `agentdeck start` starts them again, resuming")
        host.close()
        return 0
    if action == "stop":
        stopped = lifecycle.stop(ctx.state_dir)
        print("agentdeck daemon stopped; its agents have ended" if stopped
              else "no agentdeck daemon was running")
        return 0
    host = lifecycle.connect(ctx.state_dir)
    if host is None:
        print("no agentdeck daemon is running (`agentdeck` or `agentdeck daemon start` "
              "starts one)")
        return 1
    try:
        sessions = host.sessions()
        waiting = len(host.queue_state["pending"])
        print(f"agentdeck daemon running (pid {host.daemon_pid}): {len(sessions)} sessions, "
              f"{waiting} prompts waiting")
        for info in sorted(sessions, key=lambda i: i.name):
            print(f"  {info.name:<16} {info.agent:<10} {state_label(info)}")
    finally:
        host.close()
    return 0


def cmd_serve(ctx: RepoContext, fleet: Fleet, host: str, port: int) -> int:
    from agentdeck.daemon import lifecycle
    from agentdeck.serve import serve

    lifecycle.ensure(ctx.state_dir, fleet.path).close()  # pages attach to a running daemon
    return serve(ctx.main_root, host, port, fleet.path)


def cmd_review(ctx: RepoContext, fleet: Fleet, args: argparse.Namespace) -> int:
    from agentdeck.core import review

    agents = {r.name: r for r in Registry(ctx.state_dir).load().agents.values()
              if r.status == "ready"}
    if args.command in ("diff", "merge") and args.name not in agents:
        raise UsageError(f"no agent named {args.name} (agentdeck ls lists them)")
    if args.command == "diff":
        text = review.diff(ctx, agents[args.name], uncommitted=args.uncommitted)
        sys.stdout.write(text + "\n" if text else "")
        return 0
    if args.command == "conflicts":
        radar = review.radar(ctx, list(agents.values()), uncommitted=not args.committed)
        if args.json:
            print(json.dumps(radar.as_json(), indent=2))
            return 1 if radar.pairs and any(p.conflicts for p in radar.pairs) else 0
        for pair in radar.pairs:
            if pair.conflicts:
                print(f"{pair.a} <> {pair.b}: conflict in {', '.join(pair.conflicts)}")
            else:
                print(f"{pair.a} <> {pair.b}: both change {', '.join(pair.overlap)} "
                      "(merges cleanly)")
        for name, files in radar.scope.items():
            print(f"{name}: changed forbidden paths: {', '.join(files)}")
        if not radar.pairs and not radar.scope:
            print("no collisions")
        return 1 if any(p.conflicts for p in radar.pairs) else 0
    rec = agents[args.name]
    how = "squash" if args.squash else "no-ff" if args.no_ff else "merge"
    for warning in review.merge_warnings(ctx, rec):
        print(f"agentdeck: warning: {warning}", file=sys.stderr)
    done = review.merge(ctx, rec, args.into, how, ctx.state_dir)
    print(f"{rec.name}: merged {done.branch} into {done.into} ({done.how}, {done.commit[:10]})")
    for other in agents.values():
        if other.name != rec.name and not other.in_main and review.base_of(
                ctx, other).removeprefix("origin/") == done.into:
            n = review.behind(ctx, other, done.into)
            if n:
                print(f"  {other.name}: {done.into} moved; {other.branch} is {n} behind")
    if args.cleanup:
        from agentdeck.core.removal import remove_agent

        out = remove_agent(ctx, fleet, rec.name, force=False, delete_branch=True, drop_db=True)
        for line in (*out.done, *out.left):
            print(f"{rec.name}: {line}")
    else:
        print(f"  clean up with: agentdeck rm {rec.name} --delete-branch --drop-db")
    return 0


def cmd_logs(ctx: RepoContext, name: str, follow: bool) -> int:
    import time as _time

    from agentdeck.daemon.server import TRANSCRIPTS

    path = ctx.state_dir / TRANSCRIPTS / f"{name}.log"
    older = path.with_suffix(".log.1")
    if not path.exists() and not older.exists():
        raise OperationError(f"no transcript for '{name}' (agents started by the session host "
                             "daemon have one)")
    out = sys.stdout.buffer
    for part in (older, path):
        if part.exists():
            out.write(part.read_bytes())
    out.flush()
    if not follow:
        return 0
    position = path.stat().st_size if path.exists() else 0
    try:
        while True:
            _time.sleep(0.2)
            if not path.exists():
                continue
            size = path.stat().st_size
            if size < position:  # rotated
                position = 0
            if size > position:
                with path.open("rb") as fh:
                    fh.seek(position)
                    out.write(fh.read())
                    out.flush()
                position = size
    except KeyboardInterrupt:
        return 0


def cmd_start(ctx: RepoContext, fleet: Fleet, names: list[str]) -> int:
    deck = _attach_deck(ctx, fleet)
    try:
        known = {r.name: r for r in deck.records}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(f"no agent named {', '.join(unknown)} (agentdeck ls lists them)")
        sessions = {i.name: i for i in deck.host.sessions()}
        running = {n for n, i in sessions.items() if i.process == "running"}
        todo = [known[n] for n in names] if names else [
            r for r in deck.records if r.name not in running]
        for rec in todo:
            if rec.name in running:
                print(f"{rec.name}: already running")
                continue
            # it ran before (its session ended, or died with an earlier daemon): resume it
            deck.start(rec, resume=rec.name in sessions)
            print(f"{rec.name}: started")
    finally:
        deck.close()
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from agentdeck.core.detect import DETECTORS, detect
    from agentdeck.core.terminal import make_emulator

    if args.agent is not None and args.agent not in DETECTORS:
        raise UsageError(f"unknown agent '{args.agent}' for detect; known: "
                         f"{', '.join(DETECTORS)}")
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    cols, cursor_row, wrapped = args.cols, None, None
    if args.raw:
        cols = cols or 120
        emulator = make_emulator(cols, args.rows, 1000)
        emulator.feed(data)
        lines, cursor_row = emulator.lines(), emulator.cursor()[1]
        wrapped = emulator.wrapped_rows()
    else:
        lines = data.decode("utf-8", "replace").splitlines()
    found = detect(lines, args.agent, cursor_row, cols, wrapped)
    print(json.dumps(found.as_json(), ensure_ascii=False))
    return 0


def _report_up(engine: Engine, result: UpResult, started: bool = False) -> int:
    if result.already:
        print(f"already there: {', '.join(result.already)}")
    for line in failure_report(result.setups):
        print(line, file=sys.stderr)
    print()
    print(fleet_table(engine.views(sessions.live_states(engine.ctx))))
    print()
    if not (started and _interactive()):
        print(NOT_STARTED)
    for name, reason in result.failed.items():
        print(f"agentdeck: error: {name}: {reason}", file=sys.stderr)
    return result.exit_code


def cmd_ls(engine: Engine, as_json: bool) -> int:
    views = engine.views(sessions.live_states(engine.ctx))
    if as_json:
        print(json.dumps([v.as_json() for v in views], indent=2))
    elif views:
        print(fleet_table(views))
    else:
        print("no agents yet: `agentdeck up` creates the fleet, `agentdeck spawn NAME` adds one")
    return 0


def cmd_spawn(engine: Engine, fleet: Fleet, args: argparse.Namespace) -> int:
    if not NAME_RE.match(args.name):
        raise UsageError(f"agent name '{args.name}' may use letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit")
    if args.agent and args.agent not in fleet.commands:
        raise UsageError(f"unknown agent kind '{args.agent}'; known: "
                         f"{', '.join(fleet.commands)} (add others under 'commands:')")
    declared = fleet.agent(args.name)
    if declared is not None and not any((args.branch, args.base, args.agent, args.task,
                                         args.model, args.role)):
        spec = declared  # `spawn NAME` of an agent the fleet file describes: use its entry
    else:
        spec = fleet.spec_for(args.name, args.branch or f"agentdeck/{args.name}", base=args.base,
                              agent=args.agent, task=args.task, model=args.model, role=args.role)
    result = engine.spawn(spec)
    status = _report_up(engine, result)
    if status or spec.name in result.already:
        return status
    if declared is None and not args.no_save and fleet.path is not None:
        from agentdeck.core.spawning import add_to_fleet_file

        try:
            add_to_fleet_file(fleet.path, spec)
            print(f"{spec.name}: added to {fleet.path}")
        except AgentdeckError as exc:
            print(f"agentdeck: warning: {spec.name} was made but not added to the fleet file: "
                  f"{exc}", file=sys.stderr)
    if _daemon_runs(engine.ctx):
        # a session host runs (a dashboard may be open on it): the new agent starts there
        status = cmd_start(engine.ctx, load_fleet(fleet.path) if fleet.path else fleet,
                           [spec.name])
    return status


def _daemon_runs(ctx: RepoContext) -> bool:
    from agentdeck.daemon import lifecycle

    host = lifecycle.connect(ctx.state_dir)
    if host is not None:
        host.close()
    return host is not None


def cmd_rm(ctx: RepoContext, fleet: Fleet, args: argparse.Namespace) -> int:
    """Remove an agent; one that runs in the session host is stopped first (its process tree),
    but only once the removal is sure to go ahead: work that would be lost refuses it without
    --force, and with --force every file and commit discarded is printed before it goes."""
    from agentdeck.core.removal import remove_agent, would_lose
    from agentdeck.daemon import lifecycle

    losses = would_lose(ctx, args.name, args.delete_branch)
    host = lifecycle.connect(ctx.state_dir)
    info = next((i for i in host.sessions() if i.name == args.name), None) if host else None
    try:
        if losses and not args.force:
            # the refusal names what would be lost (and stops nothing)
            remove_agent(ctx, fleet, args.name, force=False, delete_branch=args.delete_branch)
        for what, items in losses:
            print(f"{args.name}: --force discards {what}:")
            for item in items:
                print(f"  {item}")
        if host is not None and info is not None and info.process == "running":
            host.stop(args.name, sessions.GRACE)
            print(f"{args.name}: stopped it and every process it started")
        out = remove_agent(ctx, fleet, args.name, force=args.force,
                           delete_branch=args.delete_branch, drop_db=args.drop_db)
        if host is not None and info is not None:
            host.forget(args.name)  # its session and transcript go with it
    finally:
        if host is not None:
            host.close()
    for line in out.done:
        print(f"{args.name}: {line}")
    for line in out.left:
        print(f"{args.name}: {line}")
    return 0


def cmd_prune(ctx: RepoContext) -> int:
    from agentdeck.core.removal import prune
    from agentdeck.daemon import lifecycle

    report = prune(ctx)
    host = lifecycle.connect(ctx.state_dir)
    if host is not None:  # an agent whose worktree is gone has nowhere to work: its session ends
        try:
            known = {i.name for i in host.sessions()}
            for name in report.names:
                if name in known:
                    host.forget(name)
                    report.notes.append(f"{name}: its session in the session host was stopped")
        finally:
            host.close()
    for line in report.removed + report.notes:
        print(line)
    if not report.removed and not report.notes:
        print("nothing to prune: every agent's worktree is there")
    return 0


def cmd_doctor() -> int:
    from agentdeck.core.doctor import run_checks

    checks = run_checks()
    pad = max(len(c.name) for c in checks)
    for check in checks:
        mark = "ok " if check.ok else ("ERR" if check.required else " - ")
        line = f"{mark} {check.name.ljust(pad)}  {check.detail}"
        if not check.ok and check.fix:
            line += f"\n    {' ' * pad}  install: {check.fix}"
        print(line)
    return 1 if any(c.required and not c.ok for c in checks) else 0
