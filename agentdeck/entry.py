"""The `agentdeck` program's entry point. `agentdeck hook …` runs once per agent tool call, so it
is dispatched before the rest of agentdeck (git, YAML, Textual) is imported."""

from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:2] == ["hook"]:
        from agentdeck.hook_client import main as hook_main

        return hook_main(sys.argv[2:])
    from agentdeck.cli import main as cli_main

    return cli_main()
