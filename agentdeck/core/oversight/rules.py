"""Whether a fleet file's approval rule answers a prompt, and which rule does.

A bash prompt is decided on its parsed command line (`shell.parse`), never on its text:

- an allow rule allows a line only when every simple command in it is one the rule allows —
  `command: npm test` (the command's words start with these words; further arguments are free,
  an assignment before it such as `FOO=1` is not) and/or `match:` (a regular expression the
  whole normalised command must match, fullmatch: `npm (test|run lint)( .*)?`) — and the line
  is one plain command: operators (`;` `&&` `||` `|` `&`, a newline between commands),
  substitutions (`$(…)`, backticks, `<(…)`), subshells, redirections and here-documents need
  `compound: true`, and then each command inside must be allowed as well. A line the parser
  cannot read as bash would (see `shell`), a shell run on a string (`sh -c …`, `bash -c …`,
  `eval …`) and a request whose exact text nobody knows (a command joined from several screen
  rows: which breaks were newlines is lost) are never allowed by a rule;
- a deny rule denies a line when any command in it is one the rule names, wherever it stands:
  chained, nested, after `sudo`/`env`/`xargs`/…, inside `sh -c '…'` or `eval`. Deny rules
  come before allow rules whatever their order: denying is the safe side.

Other kinds (edit, write, fetch, mcp, other) keep `match:` as a regular expression searched in
the prompt's summary (a path, a URL, a tool).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from agentdeck.core.fleet.kinds import SHELL_PROGRAMS
from agentdeck.core.oversight.shell import Command, CommandLine, parse

if TYPE_CHECKING:
    from agentdeck.core.fleet.spec import ApprovalRule
    from agentdeck.core.screen.detect import Prompt

# shells run a string given after -c: what they run is that string (the registry's shells, the
# same that make an agent a plain shell)
SHELLS = SHELL_PROGRAMS
# programs that run the command in their arguments: a deny rule looks through them
WRAPPERS = frozenset({"sudo", "doas", "env", "nohup", "nice", "ionice", "time", "timeout",
                      "stdbuf", "setsid", "xargs", "exec", "command", "builtin", "chroot",
                      "unbuffer", "watch", "strace", "ltrace", "flock", "caffeinate"})
_DEPTH = 4  # how deep `sh -c "sh -c '…'"` is followed for deny rules


def decide(rules: Sequence[ApprovalRule], agent: str, role: str,
           prompt: Prompt) -> ApprovalRule | None:
    """The rule that answers `prompt`, if any: the first deny rule that applies, else the
    first allow rule that applies."""
    reaching = [r for r in rules if r.reaches(agent, role, prompt.kind)]
    exact = command_line(prompt) if prompt.kind == "bash" else prompt.summary
    for rule in reaching:
        # a deny rule may judge the text as shown: denying too much is the safe side
        if rule.decision == "deny" and (
                covers(rule, prompt.kind, exact) if exact is not None
                else denies(rule, parse(prompt.summary), exact=False)):
            return rule
    for rule in reaching:
        if rule.decision == "allow" and covers(rule, prompt.kind, exact):
            return rule
    return None


def applies(rule: ApprovalRule, agent: str, role: str, kind: str, summary: str) -> bool:
    """Whether `rule` answers this request of this agent, `summary` taken as the exact
    command line for bash (the queue asks through `decide`)."""
    return rule.reaches(agent, role, kind) and covers(rule, kind, summary)


def command_line(prompt: Prompt) -> str | None:
    """The command exactly as the agent asked to run it, or None when nobody knows it: the
    hook's request where it came through the hook (its summary has its blanks squeezed, a
    newline among them), the screen's text where that was drawn on one row."""
    if prompt.signature.startswith("hook:"):
        # (hook_channel writes the request's tool and arguments there, as JSON)
        try:
            _tool, args = json.loads(prompt.signature.removeprefix("hook:"))
        except (ValueError, TypeError):
            return None
        for key in ("command", "cmd"):
            value = args.get(key) if isinstance(args, dict) else None
            if isinstance(value, str):
                return value
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                # Codex's argv form: ["bash", "-lc", "npm test"] runs the string
                if len(value) == 3 and _is_shell_c(value[:2]):
                    return value[2]
                return shlex.join(value)
        return None
    return None if prompt.joined else prompt.summary


def covers(rule: ApprovalRule, kind: str, text: str | None) -> bool:
    """Whether `rule` (already known to reach this agent and kind) answers this request;
    `text` is the exact command line for bash (None: not known exactly)."""
    if kind != "bash":
        return not rule.command and text is not None and re.search(rule.match, text) is not None
    if text is None:
        return False
    line = parse(text)
    return denies(rule, line) if rule.decision == "deny" else allows(rule, line)


def allows(rule: ApprovalRule, line: CommandLine) -> bool:
    if line.refused or (line.compound and not rule.compound):
        return False
    return all(not _runs_a_string(c) and _fits(rule, c) for c in line.commands)


def denies(rule: ApprovalRule, line: CommandLine, exact: bool = True) -> bool:
    """Whether any command the line may run is one the rule names. A line that is not the
    exact request (joined from screen rows: any break may have been a newline) or one the
    parser may have read wrong is also taken word by word: every tail of its words counts."""
    candidates = list(_candidates(line, 0))
    if line.refused:  # the parse may be off: the bare words count too
        candidates.append(Command(tuple(line.source.split())))
    if not exact or line.refused:
        candidates += [Command(c.argv[i:]) for c in list(candidates)
                       for i in range(1, len(c.argv))]
    return any(_fits(rule, c, deny=True) for c in candidates)


def refusal(rule: ApprovalRule, text: str) -> str:
    """Why an allow rule does not allow this command line ("" when it does): for messages
    and tests."""
    line = parse(text)
    if line.refused:
        return line.refused
    if line.compound and not rule.compound:
        return f"compound ({', '.join(line.joins)}) and the rule has no 'compound: true'"
    for command in line.commands:
        if _runs_a_string(command):
            return f"'{command.text}' runs a string as a shell command"
        if not _fits(rule, command):
            return f"'{command.text}' is not allowed by the rule"
    return ""


def _fits(rule: ApprovalRule, command: Command, deny: bool = False) -> bool:
    """Whether one simple command is one the rule names. For a deny rule, what runs counts,
    not how it was set up: assignments before it are left out."""
    if not command.argv:
        return False
    if rule.command and (command.argv[:len(rule.command)] != rule.command
                         or (command.assignments and not deny)):
        return False
    if rule.match:
        texts = [command.text]
        if deny and command.assignments:
            texts.append(Command(command.argv).text)
        return any(re.fullmatch(rule.match, t) for t in texts)
    return True


def _candidates(line: CommandLine, depth: int) -> Iterator[Command]:
    """Every command the line may run, for deny rules: its own, each also by its program's
    plain name (`/bin/rm` as `rm`), the ones a wrapper runs (each tail of its arguments), and
    those in a string a shell or `eval` runs."""
    for command in line.commands:
        yield from _through(command, depth)


def _through(command: Command, depth: int) -> Iterator[Command]:
    yield command
    if not command.argv:
        return
    name = posixpath.basename(command.argv[0])
    if name != command.argv[0]:
        yield Command((name, *command.argv[1:]), command.assignments)
    if depth >= _DEPTH:
        return
    script = _script(command)
    if script is not None:
        yield from _candidates(parse(script), depth + 1)
    if name in WRAPPERS:
        for start in range(1, len(command.argv)):
            yield from _through(Command(command.argv[start:]), depth + 1)


def _script(command: Command) -> str | None:
    """The string a shell's -c or `eval` runs, if the command is one of those."""
    name = posixpath.basename(command.argv[0])
    if name == "eval":
        return " ".join(command.argv[1:])
    if name in SHELLS:
        for index, word in enumerate(command.argv[1:], 1):
            if _is_shell_c((name, word)):
                return command.argv[index + 1] if index + 1 < len(command.argv) else ""
    return None


def _runs_a_string(command: Command) -> bool:
    return bool(command.argv) and _script(command) is not None


def _is_shell_c(words: Sequence[str]) -> bool:
    """`sh -c`, `bash -lc`, `zsh -ec`…: a shell's option cluster that holds c."""
    name, option = posixpath.basename(words[0]), words[1]
    return (name in SHELLS and option.startswith("-") and not option.startswith("--")
            and "c" in option)
