"""A stand-in for Claude Code or Codex CLI (by the name it is run as) that asks one permission
the way each really does, hook included, so the merge of the two approval channels can be tested
with exact timing and no model.

As `claude`: draws its dialog and, at the same time, runs the PermissionRequest hook found in
the file its `--settings` flag names; whichever answers first wins. As `codex`: runs the hook
given in `-c hooks={…}` first and draws its dialog only when the hook gives no decision.
Either way it then prints "RESULT <decision> via <hook|keys>" and logs it to $FAKE_CLI_LOG.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import subprocess
import sys
import termios
import threading
import tomllib
import tty
from pathlib import Path

COMMAND = "echo ran > ran.txt"
REQUEST = {"hook_event_name": "PermissionRequest", "tool_name": "Bash",
           "tool_input": {"command": COMMAND, "description": "Run it"},
           "permission_suggestions": [{"type": "addRules", "destination": "localSettings",
                                       "behavior": "allow", "rules": [{"toolName": "Bash"}]}]}
CLAUDE_DIALOG = f"""
────────────────────────────────────────────────────────────────────────────────
 Bash command
 Run it
╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
 {COMMAND}
╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
 Do you want to proceed?
 ❯ 1. Yes
   2. Yes, and don't ask again for echo commands in this project
   3. No

 Esc to cancel · Tab to amend"""
CODEX_DIALOG = f"""
  Would you like to run the following command?

  Reason: Run it

  $ {COMMAND}

› 1. Yes, proceed (y)
  2. Yes, and don't ask again for commands that start with `echo` (p)
  3. No, and tell Codex what to do differently (esc)

  Press enter to confirm or esc to cancel"""
KEYS = {"claude": {"1": "allow", "2": "always", "3": "deny", "\x1b": "deny"},
        "codex": {"y": "allow", "p": "always", "\x1b": "deny"}}


def run_hook(command: str, result: dict[str, str]) -> None:
    proc = subprocess.run(command, shell=True, input=json.dumps(REQUEST), capture_output=True,
                          text=True)
    out = proc.stdout.strip()
    if out:
        decision = json.loads(out)["hookSpecificOutput"]["decision"]
        always = "updatedPermissions" in decision
        result["decision"] = "always" if always else decision["behavior"]


def claude_hook(argv: list[str]) -> str | None:
    for flag, value in itertools.pairwise(argv):
        if flag == "--settings":
            groups = json.loads(Path(value).read_text())["hooks"]["PermissionRequest"]
            return str(groups[-1]["hooks"][0]["command"])
    return None


def codex_hook(argv: list[str]) -> str | None:
    for flag, value in itertools.pairwise(argv):
        if flag == "-c" and value.startswith("hooks="):
            hooks = tomllib.loads(value)["hooks"]
            return str(hooks["PermissionRequest"][0]["hooks"][0]["command"])
    return None


def read_key(stop: threading.Event) -> str | None:
    while not stop.is_set():
        ready, _, _ = select.select([sys.stdin], [], [], 0.05)
        if ready:
            return os.read(sys.stdin.fileno(), 16).decode()
    return None


def finish(decision: str, via: str) -> None:
    sys.stdout.write(f"\x1b[2J\x1b[HRESULT {decision} via {via}\r\n\r\n> \r\n? for shortcuts")
    sys.stdout.flush()
    log = os.environ.get("FAKE_CLI_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps({"decision": decision, "via": via}) + "\n")


def main() -> None:
    cli = Path(sys.argv[0]).name
    old = termios.tcgetattr(sys.stdin)
    tty.setraw(sys.stdin.fileno())
    try:
        sys.stdout.write(f"fake {cli}\r\n")
        sys.stdout.flush()
        result: dict[str, str] = {}
        dialog = (CLAUDE_DIALOG if cli == "claude" else CODEX_DIALOG).replace("\n", "\r\n")
        if cli == "codex":
            command = codex_hook(sys.argv)
            if command:
                sys.stdout.write("• Working (0s • esc to interrupt)\r\n")
                sys.stdout.flush()
                run_hook(command, result)
            if "decision" in result:
                finish(result["decision"], "hook")
            else:
                sys.stdout.write(dialog)
                sys.stdout.flush()
                key = read_key(threading.Event())
                finish(KEYS[cli].get(key or "", f"unknown key {key!r}"), "keys")
        else:
            sys.stdout.write(dialog)
            sys.stdout.flush()
            command = claude_hook(sys.argv)
            stop = threading.Event()
            if command:
                def hook() -> None:
                    run_hook(command, result)
                    if "decision" in result:
                        stop.set()
                threading.Thread(target=hook, daemon=True).start()
            key = read_key(stop)
            if key is None:
                finish(result["decision"], "hook")
            else:
                finish(KEYS[cli].get(key, f"unknown key {key!r}"), "keys")
        read_key(threading.Event())  # stay idle until killed
    finally:
        termios.tcsetattr(sys.stdin, termios.TCSADRAIN, old)


if __name__ == "__main__":
    main()
