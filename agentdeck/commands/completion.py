"""`agentdeck completion bash|zsh|fish`: a completion script for the user's shell.

Made from the CLI's own parser, so it always offers the commands and options that exist. Agent
names come from `agentdeck ls --names` (the registry, read without touching git) where a
command takes one; branches from git where an option takes one.
"""

from __future__ import annotations

import argparse

NAMED = ("rm", "stop", "restart", "start", "logs", "diff", "merge", "up")  # take agent names
BRANCH_OPTIONS = ("--branch", "-b", "--base", "--into")


def _commands(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each visible subcommand and its long and short options."""
    out: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            hidden = {a.dest for a in action._choices_actions if a.help == argparse.SUPPRESS}
            for name, sub in action.choices.items():
                if name in hidden or name == "hook":
                    continue
                out[name] = sorted(opt for a in sub._actions for opt in a.option_strings
                                   if a.help != argparse.SUPPRESS)
    return out


def bash_script(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    cases = "\n".join(f"        {name}) opts=\"{' '.join(opts)}\" ;;"
                      for name, opts in commands.items())
    return f"""# agentdeck completion for bash: eval "$(agentdeck completion bash)" in ~/.bashrc
_agentdeck() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local sub="" i opts=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            -C|-f|--file|--theme) ((i++)) ;;
            -*) ;;
            *) sub="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    if [[ -z "$sub" ]]; then
        COMPREPLY=($(compgen -W "{' '.join(commands)} --version -C -f --file --theme \\
--no-daemon" -- "$cur"))
        return
    fi
    case "$prev" in
        {'|'.join(BRANCH_OPTIONS)})
            COMPREPLY=($(compgen -W "$(git branch --format='%(refname:short)' 2>/dev/null)" \\
                -- "$cur"))
            return ;;
    esac
    case "$sub" in
{cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    case "$sub" in
        {'|'.join(NAMED)})
            COMPREPLY=($(compgen -W "$(agentdeck ls --names 2>/dev/null)" -- "$cur")) ;;
        completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
    esac
}}
complete -o default -F _agentdeck agentdeck
"""


def zsh_script(parser: argparse.ArgumentParser) -> str:
    return ("# agentdeck completion for zsh: eval \"$(agentdeck completion zsh)\" in ~/.zshrc\n"
            "autoload -U +X bashcompinit && bashcompinit\n" + bash_script(parser))


def fish_script(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    lines = ["# agentdeck completion for fish: agentdeck completion fish | source",
             "complete -c agentdeck -f",
             f"complete -c agentdeck -n __fish_use_subcommand -a '{' '.join(commands)}'"]
    for name, opts in commands.items():
        for opt in opts:
            flag = f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}"
            lines.append(f"complete -c agentdeck -n '__fish_seen_subcommand_from {name}' {flag}")
    lines.append(f"complete -c agentdeck -n '__fish_seen_subcommand_from {' '.join(NAMED)}' "
                 "-a '(agentdeck ls --names 2>/dev/null)'")
    lines.append("complete -c agentdeck -n '__fish_seen_subcommand_from completion' "
                 "-a 'bash zsh fish'")
    return "\n".join(lines) + "\n"


def cmd_completion(args: argparse.Namespace) -> int:
    from agentdeck.cli import build_parser

    script = {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[args.shell](
        build_parser())
    print(script, end="")
    return 0
