"""The `agentdeck` command line: the parser, and nothing else. Each command lives in
`agentdeck.commands` (imported only when it runs, so `ls` and `hook` stay fast), takes the
parsed arguments and returns the exit status. Every error is one line `agentdeck: error: …`
and an exit status: 2 for usage and configuration errors, 1 for failed operations, never a
traceback."""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from agentdeck import __version__
from agentdeck.core.errors import AgentdeckError, UsageError, one_line
from agentdeck.core.fleet.kinds import CLIS, KINDS
from agentdeck.core.names import ROLES

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        typo = re.search(r"invalid choice: '([^']*)'", message)
        near = self._nearest(typo.group(1)) if typo else None
        if typo and near:  # `agentdeck sattus`: "did you mean `agentdeck daemon status`?"
            raise UsageError(f"no {'command' if 'COMMAND' in message else 'choice'} "
                             f"'{typo.group(1)}': did you mean `{self.prog} {near}`?")
        raise UsageError(f"{message} (see {self.prog} --help)")

    def _nearest(self, word: str) -> str | None:
        """The choice (a command, or a command's own choice: `daemon status`) nearest `word`,
        a command's own name before what it takes."""
        phrases: dict[str, str] = {}
        nested: list[tuple[str, str]] = []
        for action in self._actions:
            if isinstance(action.choices, dict):  # the subcommands
                for name, sub in action.choices.items():
                    phrases[name] = name
                    nested += [(str(choice), f"{name} {choice}") for inner in sub._actions
                               if isinstance(inner.choices, list) for choice in inner.choices]
            elif action.choices:
                phrases.update((str(c), str(c)) for c in action.choices)
        for choice, phrase in nested:
            phrases.setdefault(choice, phrase)
        found = difflib.get_close_matches(word, list(phrases), n=1, cutoff=0.6)
        return phrases[found[0]] if found else None


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
    # how another machine's agentdeck runs this one (core/agents/remote.py): the fleet comes on
    # stdin
    parser.add_argument("--fleet-stdin", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(run="dashboard:cmd_dashboard")  # no command: the dashboard
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def merge_options(p: argparse.ArgumentParser) -> None:
        """How a branch goes into its target: `merge`'s and `keep`'s options alike."""
        how = p.add_mutually_exclusive_group()
        how.add_argument("--squash", action="store_true",
                         help="one new commit on the target with the branch's changes")
        how.add_argument("--no-ff", action="store_true",
                         help="always a merge commit, even when the target could fast-forward")
        p.add_argument("--into", default=None, help="target branch (default: the agent's base)")

    def fleet_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("-f", "--file", type=Path, default=None,
                       help="fleet file (default: ./agentdeck.yaml, then the repository root's)")

    up = sub.add_parser("up", help="create every agent's worktree, env, port and database")
    up.set_defaults(run="workspaces:cmd_up")
    fleet_arg(up)
    up.add_argument("names", nargs="*", help="only these agents")
    up.add_argument("--no-start", action="store_true",
                    help="prepare workspaces only; without it, the dashboard opens and starts "
                    "the agents (when there is a terminal)")

    ls = sub.add_parser("ls", help="list agents: branch, worktree, port, database, state")
    ls.set_defaults(run="listing:cmd_ls")
    ls.add_argument("--json", action="store_true", help="a JSON list of objects")
    ls.add_argument("--names", action="store_true", help="the agents' names, one a line")
    completion = sub.add_parser("completion", help="a completion script: eval \"$(agentdeck "
                                "completion bash)\" (zsh alike; fish: | source)")
    completion.set_defaults(run="completion:cmd_completion")
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])

    spawn = sub.add_parser("spawn", help="add one agent to the fleet")
    spawn.set_defaults(run="workspaces:cmd_spawn")
    fleet_arg(spawn)
    spawn.add_argument("name")
    spawn.add_argument("--branch", "-b", help="branch (default: agentdeck/NAME)")
    spawn.add_argument("--base", help="where a new branch starts (default: the fleet's base)")
    spawn.add_argument("--agent", help=f"agent kind: {', '.join(KINDS)}, or one of the "
                       "fleet's commands")
    task = spawn.add_mutually_exclusive_group()
    task.add_argument("--task", help="what this agent should do")
    task.add_argument("--task-file", type=Path, default=None, metavar="FILE",
                      help="the task from a file (Markdown, say)")
    task.add_argument("--issue", default=None, metavar="N|URL",
                      help="the task from a GitHub issue (the origin's number, or its URL), "
                      "through gh; its pull request (agentdeck pr) closes it")
    spawn.add_argument("--model", help="model name passed to the agent")
    spawn.add_argument("--role", choices=ROLES, help="lead or worker (default worker)")
    spawn.add_argument("--channel", choices=("pty", "acp"),
                       help="pty: the agent's own TUI in a terminal; acp: its conversation "
                       "through the Agent Client Protocol (default: the fleet's)")
    spawn.add_argument("--no-save", action="store_true",
                       help="do not add the agent to the fleet file")

    rm = sub.add_parser("rm", help="remove an agent's worktree and free its port",
                        description="Remove an agent: stop it (and every process it started), "
                        "remove its worktree, free its port, and take it out of the fleet file. "
                        "Refused, with nothing changed, while it holds uncommitted work (or, "
                        "with --delete-branch, commits on no other branch).")
    rm.set_defaults(run="workspaces:cmd_rm")
    fleet_arg(rm)
    rm.add_argument("name", help="the agent (`agentdeck ls` lists them)")
    rm.add_argument("--force", action="store_true",
                    help="discard uncommitted work and unmerged commits")
    rm.add_argument("--delete-branch", action="store_true", help="also delete the branch")
    rm.add_argument("--drop-db", action="store_true", help="also drop the agent's database")
    rm.add_argument("--keep-in-fleet", action="store_true",
                    help="leave its entry in the fleet file (else it is taken out, so the next "
                    "`agentdeck` does not make it again)")

    for name, run, what in (
            ("init", "init:cmd_init", "write a commented agentdeck.yaml for this repository"),
            ("prune", "workspaces:cmd_prune",
             "git worktree prune, and forget agents whose worktree is gone"),
            ("doctor", "tools:cmd_doctor", "check git, PostgreSQL, docker and agent CLIs")):
        command = sub.add_parser(name, help=what)
        command.set_defaults(run=run)
        if name == "doctor":
            command.add_argument("--host", default=None, help="check a host of the fleet "
                                 "instead: ssh, its agentdeck's version, its git, PostgreSQL "
                                 "and agent CLIs")
            fleet_arg(command)
    demo = sub.add_parser("demo", help="try agentdeck on a throwaway repository (no API key)")
    demo.set_defaults(run="dashboard:cmd_demo")
    demo.add_argument("--dir", type=Path, default=None, help="where to make it (default: a temp "
                      "folder)")
    demo.add_argument("--no-ui", action="store_true",
                      help="prepare the demo and print a tour instead of opening the dashboard")

    detect = sub.add_parser("detect", help="screen text in, JSON state and pending prompt out")
    detect.set_defaults(run="tools:cmd_detect")
    detect.add_argument("file", nargs="?", default="-", help="a screen as text (default: stdin)")
    detectors = [kind.detector for kind in CLIS.values() if kind.detector]
    detect.add_argument("--agent", default=None, help=f"{', '.join(detectors)} or generic "
                        "(default: try all)")
    detect.add_argument("--raw", action="store_true",
                        help="the input is raw PTY bytes: render them through the emulator first")
    detect.add_argument("--cols", type=_bounded(2, 1000, "columns"), default=None,
                        help="screen width: with --raw the emulator's (default 120); with text, "
                        "rows this long are taken as wrapped and joined")
    detect.add_argument("--rows", type=_bounded(2, 1000, "rows"), default=40,
                        help="screen height for --raw")

    daemon = sub.add_parser("daemon", help="the session host that keeps agents running while no "
                            "dashboard is open: run | start | status | stop | restart "
                            "| attach --stdio")
    daemon.set_defaults(run="session_host:cmd_daemon")
    daemon.add_argument("action", nargs="?", default="status",
                        choices=["run", "start", "status", "stop", "restart", "attach"])
    daemon.add_argument("--stdio", action="store_true",
                        help="with attach: the session host's frames on stdin/stdout (what "
                        "another machine's dashboard runs through ssh)")
    daemon.add_argument("--state-dir", type=Path, default=None, help=argparse.SUPPRESS)
    daemon.add_argument("--fleet", type=Path, default=None, help=argparse.SUPPRESS)
    fleet_arg(daemon)

    logs = sub.add_parser("logs", help="print an agent's output transcript")
    logs.set_defaults(run="sessions:cmd_logs")
    logs.add_argument("name")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new output")

    stop = sub.add_parser("stop", help="stop agents and every process they started (their "
                          "worktree, port and database stay)")
    stop.set_defaults(run="sessions:cmd_stop")
    stop.add_argument("names", nargs="+", metavar="NAME")
    restart = sub.add_parser("restart", help="stop agents and start them again, resuming")
    restart.set_defaults(run="sessions:cmd_restart")
    fleet_arg(restart)
    restart.add_argument("names", nargs="+", metavar="NAME")

    start = sub.add_parser("start", help="start (or restart) agents in the session host")
    start.set_defaults(run="sessions:cmd_start")
    fleet_arg(start)
    start.add_argument("names", nargs="*", help="only these agents (default: every agent "
                       "not running)")

    diff = sub.add_parser("diff", help="an agent's changes against its base (plain, for pipes)")
    diff.set_defaults(run="review:cmd_diff")
    diff.add_argument("name")
    diff.add_argument("--uncommitted", action="store_true",
                      help="include what is on disk in its worktree, not yet committed")

    conflicts = sub.add_parser("conflicts", help="which agents' work collides, on which files "
                               "(uncommitted work included), and forbidden paths touched")
    conflicts.set_defaults(run="review:cmd_conflicts")
    conflicts.add_argument("--json", action="store_true")
    conflicts.add_argument("--committed", action="store_true",
                           help="branch tips only, without what is on disk")

    merge = sub.add_parser("merge", help="merge an agent's branch (refused when the target is "
                           "dirty or it would conflict)")
    merge.set_defaults(run="review:cmd_merge")
    merge.add_argument("name")
    merge_options(merge)
    merge.add_argument("--cleanup", action="store_true", help="then stop the agent and remove "
                       "its worktree, branch, database and port, and its fleet file entry")
    merge.add_argument("--keep-in-fleet", action="store_true",
                       help="with --cleanup: leave its entry in the fleet file")

    fanout = sub.add_parser("fanout", help="one task to N agents (BASE-1 … BASE-N), each on "
                            "its own branch, to compare and keep the best")
    fanout.set_defaults(run="candidates:cmd_fanout")
    fleet_arg(fanout)
    fanout.add_argument("base", metavar="BASE", help="the group's name; the candidates are "
                        "BASE-1 … BASE-N")
    fanout.add_argument("--task", required=True, help="what every candidate is to do")
    fanout.add_argument("--count", "-n", type=_bounded(1, 10, "a number of candidates"),
                        default=3, help="how many candidates (default 3)")
    fanout.add_argument("--agent", default=None, metavar="KIND[,KIND…]",
                        help="agent kinds, taken in turn (default: the fleet's default)")
    fanout.add_argument("--no-start", action="store_true",
                        help="make them only (the dashboard starts them when it opens)")
    compare = sub.add_parser("compare", help="a fanout's candidates side by side: files, +/-, "
                             "checks, conflicts, usage, time")
    compare.set_defaults(run="candidates:cmd_compare")
    compare.add_argument("base", metavar="BASE", help="the fanout (or one of its candidates)")
    compare.add_argument("--json", action="store_true")
    keep = sub.add_parser("keep", help="merge a candidate as `merge` does and remove its "
                          "siblings (refused while one holds uncommitted work, unless --force)")
    keep.set_defaults(run="candidates:cmd_keep")
    fleet_arg(keep)
    keep.add_argument("name", metavar="NAME")
    keep.add_argument("--force", action="store_true",
                      help="discard siblings' uncommitted work too (listed first)")
    merge_options(keep)
    keep.add_argument("--cleanup", action="store_true",
                      help="then remove the kept agent's workspace too, as merge --cleanup")

    pr = sub.add_parser("pr", help="push an agent's branch and open a pull request on GitHub "
                        "(a draft), through gh")
    pr.set_defaults(run="forge:cmd_pr")
    pr.add_argument("name", metavar="NAME")
    pr.add_argument("--base", default=None, help="the branch it goes into (default: its base)")
    pr.add_argument("--title", default=None, help="(default: its task's first line)")
    pr.add_argument("--ready", action="store_true", help="ready for review, not a draft")

    checks = sub.add_parser("checks", help="run the fleet's checks in agents' worktrees now "
                            "(exit 1 if any failed)")
    checks.set_defaults(run="checks:cmd_checks")
    fleet_arg(checks)
    checks.add_argument("names", nargs="*", metavar="NAME", help="only these agents")
    checks.add_argument("--check", action="append", default=[], metavar="CHECK",
                        help="only this check (repeatable)")
    checks.add_argument("--json", action="store_true",
                        help="{agent: [{name, status, commit, seconds, output_tail}]}")
    checks.add_argument("--last", action="store_true",
                        help="run nothing: what they said last (stale: the branch moved since)")

    serve = sub.add_parser("serve", help="the dashboard in a browser (phones too), attached to "
                           "the daemon, for paired devices only: --pair pairs one; `serve "
                           "devices` lists them")
    serve.set_defaults(run="serving:cmd_serve")
    fleet_arg(serve)
    serve.add_argument("what", nargs="?", choices=["devices"],
                       help="devices: list the paired devices (with --revoke NAME: end one)")
    serve.add_argument("--pair", nargs="?", const="", default=None, metavar="NAME",
                       help="show a QR code and a link that pair a device (once, within 5 "
                       "minutes), with the server already running if one is")
    serve.add_argument("--revoke", default=None, metavar="NAME",
                       help="end a paired device: its next request is refused")
    serve.add_argument("--url", default=None,
                       help="the address devices reach this server at (a tunnel's, a "
                       "Tailscale name's; default: the bound address, a wildcard's being this "
                       "machine's on its network)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1; anything else is reachable "
                       "from other machines)")
    serve.add_argument("--port", type=_bounded(1, 65535, "a TCP port"), default=8321)
    serve.add_argument("--theme", dest="serve_theme", default=None,
                       help="the pages' theme (as agentdeck --theme)")
    serve.add_argument("--tls", choices=["self-signed"], default=None,
                       help="HTTPS with a certificate of this host's, made once and kept (its "
                       "fingerprint is printed and in the pairing QR code)")
    serve.add_argument("--tls-cert", type=Path, default=None, metavar="FILE",
                       help="HTTPS with this certificate (PEM, its chain after it)")
    serve.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                       help="the certificate's private key (PEM)")
    serve.add_argument("--background", action="store_true",
                       help="serve beside the session host daemon, with no terminal needed; "
                       "`agentdeck daemon stop` stops it")
    serve.add_argument("--detached", action="store_true", help=argparse.SUPPRESS)

    hook = sub.add_parser("hook", add_help=False,
                          help="run by Claude Code / Codex PermissionRequest hooks: hand the "
                          "request to the dashboard and print its decision")
    hook.set_defaults(run="tools:cmd_hook")
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
                why = (exc.strerror or str(exc)).lower()
                raise UsageError(f"-C {args.directory}: {why}") from None
        if args.fleet_stdin:  # run by another machine's agentdeck (core/agents/remote.py)
            from agentdeck.commands.context import received_fleet

            args.top_file = received_fleet()
        return _command(args.run)(args)
    except AgentdeckError as exc:
        print(f"agentdeck: error: {one_line(str(exc))}", file=sys.stderr)
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
        print(f"agentdeck: error: internal error: {type(exc).__name__}: {one_line(str(exc))} "
              "(set AGENTDECK_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 1


def _command(where: str) -> Command:
    """"module:function" under agentdeck.commands, imported now."""
    module, name = where.split(":")
    run: Command = getattr(importlib.import_module(f"agentdeck.commands.{module}"), name)
    return run
