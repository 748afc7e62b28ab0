"""A scripted coding agent that looks and answers like Claude Code, Codex CLI or Aider.

It streams work output, asks permission to run a command and to write a file — drawn the way the
real CLI draws it — reads the answer from its terminal, and acts on it for real in its worktree
(the command runs, the file is written and committed). Then it waits for a message, like an idle
agent, and works again when one arrives. Every answer it receives is appended as a JSON line to
$AGENTDECK_DEMO_LOG, so tests can check that exactly the right key arrived, once.

    python -m agentdeck.demo_agents.agent --style claude --task "Add JWT auth" [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Iterator
from pathlib import Path

SPEED = float(os.environ.get("AGENTDECK_DEMO_SPEED", "1"))
LOG = os.environ.get("AGENTDECK_DEMO_LOG")
NAME = os.environ.get("AGENTDECK_AGENT", "agent")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
RESET, BOLD, DIM = "\x1b[0m", "\x1b[1m", "\x1b[2m"
ORANGE, CYAN, GREEN, RED, GREY = ("\x1b[38;5;208m", "\x1b[36m", "\x1b[32m", "\x1b[31m",
                                  "\x1b[38;2;140;140;140m")


def out(text: str = "", end: str = "\r\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def pause(seconds: float) -> None:
    if SPEED > 0:
        time.sleep(seconds * SPEED)


def width() -> int:
    # never wider than the pane: a box wider than the terminal wraps into garbage
    return max(20, shutil.get_terminal_size((80, 24)).columns)


@contextlib.contextmanager
def raw_mode() -> Iterator[None]:
    if not os.isatty(0):
        yield
        return
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    try:
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


def read_key() -> str:
    with raw_mode():
        data = os.read(0, 32)
    if not data:
        raise EOFError
    return data.decode(errors="replace")


def read_line(prefix: str) -> str:
    """Read a line in raw mode, echoing it after `prefix` (Enter submits)."""
    typed = ""
    with raw_mode():
        while True:
            data = os.read(0, 1024)
            if not data:
                raise EOFError
            for ch in data.decode(errors="replace"):
                if ch in "\r\n":
                    return typed
                if ch == "\x7f":
                    typed = typed[:-1]
                elif ch == "\x03":
                    raise KeyboardInterrupt
                elif ch.isprintable():
                    typed += ch
            sys.stdout.write("\r\x1b[2K" + prefix + typed)
            sys.stdout.flush()


def record_usage(round_no: int) -> None:
    """With $AGENTDECK_DEMO_USAGE=N, each round's model reply used N tokens in and N/2 out,
    written where Claude Code writes its session transcript (what agentdeck reads usage from)."""
    tokens = int(os.environ.get("AGENTDECK_DEMO_USAGE", "0"))
    if not tokens:
        return
    folder = (Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude") / "projects"
              / re.sub(r"[^A-Za-z0-9]", "-", os.getcwd()))
    folder.mkdir(parents=True, exist_ok=True)
    reply = {"type": "assistant", "message": {"id": f"msg_demo_{round_no}", "model": "demo",
             "usage": {"input_tokens": tokens, "output_tokens": tokens // 2}}}
    with open(folder / "demo.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(reply) + "\n")


def log_answer(kind: str, summary: str, key: str) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"agent": NAME, "kind": kind, "summary": summary,
                                 "key": key}) + "\n")


def fit(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"


def draw(lines: list[str]) -> int:
    """Print a dialog (the cursor stays on its last line) and return how many terminal rows
    it took: in a narrow pane a long line wraps, and erasing it later must count those rows."""
    for line in lines[:-1]:
        out(line)
    out(lines[-1], end="")
    cols = width()
    return sum(max(1, -(-len(_ANSI.sub("", line)) // cols)) for line in lines)


class Style:
    """How one CLI draws things; subclasses override the prompt and idle drawings."""

    spinner_hint = "esc to interrupt"

    def banner(self, task: str) -> None:
        out(f"{BOLD}{NAME}{RESET} {DIM}scripted agent{RESET}")

    def say(self, text: str) -> None:
        out(text)

    def work(self, lines: list[str]) -> None:
        frames = "·✢✳✶✻✽"
        for i, line in enumerate(lines):
            sys.stdout.write(f"\r\x1b[2K{ORANGE}{frames[i % len(frames)]}{RESET} Working… "
                             f"({i + 1}s · {self.spinner_hint})")
            sys.stdout.flush()
            pause(0.35)
            sys.stdout.write("\r\x1b[2K")
            self.say(line)
        sys.stdout.write("\r\x1b[2K")
        sys.stdout.flush()

    def ask(self, kind: str, subject: str, detail: str) -> str:
        raise NotImplementedError

    def choose(self, kind: str, subject: str, meaning: dict[str, str], rows: int) -> str:
        """Wait for one of the menu's keys, erase the menu (`rows` terminal rows ending at the
        cursor's, as the real CLIs erase an answered dialog) and say what was chosen."""
        while (key := read_key()) not in meaning:
            pass
        sys.stdout.write(f"\r\x1b[{rows - 1}A\x1b[J" if rows > 1 else "\r\x1b[J")
        sys.stdout.flush()
        log_answer(kind, subject, key)
        return meaning[key]

    def idle(self) -> str:
        raise NotImplementedError


class ClaudeStyle(Style):
    def banner(self, task: str) -> None:
        w = min(width(), 70)
        out(f"{ORANGE}╭{'─' * (w - 2)}╮{RESET}")
        pad = " " * max(0, w - 35)
        title = f"✻ Welcome to {BOLD}Claude Code{RESET} (scripted){pad}"
        out(f"{ORANGE}│{RESET} {title}{ORANGE}│{RESET}")
        out(f"{ORANGE}╰{'─' * (w - 2)}╯{RESET}")
        out()
        out(f"{GREY}> {task}{RESET}")
        out()

    def say(self, text: str) -> None:
        out(f"{GREEN}⏺{RESET} {text}" if not text.startswith(" ") else text)

    def ask(self, kind: str, subject: str, detail: str) -> str:
        w = width()
        inner = w - 4
        title = {"bash": "Bash command", "write": "Create file"}[kind]
        body = ["", f"  {subject}", f"  {detail}", ""] if kind == "bash" else ["", f"  {subject}",
                                                                               ""]
        question = ("Do you want to proceed?" if kind == "bash"
                    else f"Do you want to create {Path(subject).name}?")
        always = (f"Yes, and don't ask again for {subject.split()[0]} commands in {os.getcwd()}"
                  if kind == "bash" else "Yes, allow all edits during this session (shift+tab)")
        options = ["❯ 1. Yes", f"  2. {always}",
                   "  3. No, and tell Claude what to do differently (esc)"]
        rows = [f"{BOLD}{title}{RESET}", *body, question, *options]
        dialog = [f"{CYAN}╭{'─' * (w - 2)}╮{RESET}"]
        for row in rows:
            visible = row.replace(BOLD, "").replace(RESET, "")
            text = fit(visible, inner)
            shown = row if text == visible else text
            dialog.append(f"{CYAN}│{RESET} {shown}{' ' * max(0, inner - len(text))} {CYAN}│{RESET}")
        dialog += [f"{CYAN}╰{'─' * (w - 2)}╯{RESET}",
                   f"  {DIM}Esc to cancel · Tab to add additional instructions{RESET}"]
        meaning = {"1": "allow", "\r": "allow", "2": "always", "3": "deny", "\x1b": "deny"}
        return self.choose(kind, subject, meaning, draw(dialog))

    def idle(self) -> str:
        w = width()
        out(f"{GREY}╭{'─' * (w - 2)}╮{RESET}")
        out(f"{GREY}│{RESET} > {' ' * (w - 5)}{GREY}│{RESET}")
        out(f"{GREY}╰{'─' * (w - 2)}╯{RESET}")
        out(f"  {DIM}? for shortcuts{RESET}", end="")
        sys.stdout.write("\x1b[2A\r\x1b[4C")
        sys.stdout.flush()
        text = read_line("\x1b[90m│\x1b[0m > ")
        sys.stdout.write("\r\x1b[1A\x1b[J")
        out(f"{GREY}> {text}{RESET}")
        return text


class CodexStyle(Style):
    def banner(self, task: str) -> None:
        out(f"{BOLD}>_ OpenAI Codex{RESET} {DIM}(scripted){RESET}")
        out(f"{DIM}  directory: {os.getcwd()}{RESET}")
        out()
        out(f"› {task}")
        out()

    def work(self, lines: list[str]) -> None:
        for i, line in enumerate(lines):
            sys.stdout.write(f"\r\x1b[2K{BOLD}•{RESET} Working ({i + 1}s • esc to interrupt)")
            sys.stdout.flush()
            pause(0.35)
            sys.stdout.write("\r\x1b[2K")
            out(f"{DIM}•{RESET} {line.strip()}")
        sys.stdout.write("\r\x1b[2K")

    def ask(self, kind: str, subject: str, detail: str) -> str:
        if kind == "bash":
            rows = ["", f"  {BOLD}Would you like to run the following command?{RESET}", "",
                    f"  Reason: {detail}", "", f"  $ {subject}", "",
                    f"{CYAN}›{RESET} 1. Yes, proceed (y)",
                    "  2. Yes, and don't ask again for this command (p)",
                    "  3. No, and tell Codex what to do differently (esc)"]
            keys = {"y": "allow", "1": "allow", "\r": "allow", "p": "always", "2": "always"}
        else:
            rows = ["", f"  {BOLD}Would you like to make the following edits?{RESET}", "",
                    f"  {subject} (+{detail.count(chr(10)) + 1} -0)", "",
                    f"{CYAN}›{RESET} 1. Yes, proceed (y)",
                    "  2. Yes, and don't ask again for these files (a)",
                    "  3. No, and tell Codex what to do differently (esc)"]
            keys = {"y": "allow", "1": "allow", "\r": "allow", "a": "always", "2": "always"}
        footer = f"  {DIM}Press enter to confirm or esc to cancel{RESET}"
        meaning = {**keys, "\x1b": "deny", "3": "deny", "n": "deny"}
        return self.choose(kind, subject, meaning, draw([*rows, "", footer]))

    def idle(self) -> str:
        out(f"{CYAN}›{RESET} {DIM}Ask Codex to do anything{RESET}")
        out(f"  {DIM}⏎ send   ⌃J newline   ⌃C quit   100% context left{RESET}", end="")
        sys.stdout.write("\x1b[1A\r\x1b[2C")
        sys.stdout.flush()
        text = read_line("\x1b[36m›\x1b[0m ")
        sys.stdout.write("\r\x1b[J")
        out(f"› {text}")
        return text


class AiderStyle(Style):
    spinner_hint = "Waiting for openai/scripted"

    def banner(self, task: str) -> None:
        out(f"{DIM}Aider v0.86.2 (scripted){RESET}")
        out(f"{DIM}Main model: openai/scripted with diff edit format{RESET}")
        out(f"{DIM}Git repo: .git with tracked files{RESET}")
        out()
        out(f"{GREEN}> {task}{RESET}")
        out()

    def work(self, lines: list[str]) -> None:
        for line in lines:
            sys.stdout.write("\r\x1b[2K░█ Waiting for openai/scripted")
            sys.stdout.flush()
            pause(0.35)
            sys.stdout.write("\r\x1b[2K")
            out(line.strip())
        sys.stdout.write("\r\x1b[2K")

    def ask(self, kind: str, subject: str, detail: str) -> str:
        if kind == "bash":
            out(f"{CYAN}{subject}{RESET}")
            question = "Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: "
        else:
            out(f"{CYAN}{subject}{RESET}")
            question = "Create new file? (Y)es/(N)o [Yes]: "
        sys.stdout.write(f"{GREEN}{question}{RESET}")
        sys.stdout.flush()
        answer = read_line(f"{GREEN}{question}{RESET}").strip().lower()
        out()
        log_answer(kind, subject, answer + "\r")
        return "allow" if answer in ("", "y", "yes") else "deny"

    def idle(self) -> str:
        out()
        sys.stdout.write(f"{GREEN}> {RESET}")
        sys.stdout.flush()
        text = read_line(f"{GREEN}> {RESET}")
        out()
        return text


STYLES = {"claude": ClaudeStyle, "codex": CodexStyle, "aider": AiderStyle}


def area_of(task: str) -> str:
    for word in task.replace("/", " ").split():
        if word.lower() in ("auth", "payments", "search", "docs", "api"):
            return word.lower()
    return NAME.lower()


def run_round(style: Style, task: str, round_no: int) -> None:
    area = area_of(task)
    style.work([f"Reading src/{area}/ and the tests around it",
                f"  ⎿  Found {3 + round_no} files that mention {area}",
                f"Planning: {task[:60]}",
                "  ⎿  1 module, 1 test file"])
    command = "git log --oneline -3"
    decision = style.ask("bash", command, "Check the recent history before editing")
    if decision == "deny":
        style.say("The user declined to run the command; continuing without it.")
    else:
        result = subprocess.run(command.split(), capture_output=True, text=True)
        style.say(f"Bash({command})")
        for line in result.stdout.splitlines()[:3]:
            out(f"  ⎿  {line}")
    style.work([f"Writing src/{area}/module_{round_no}.py", "Adding tests"])
    target = Path("src") / area / f"module_{round_no}.py"
    content = (f'"""{task} (round {round_no}) by {NAME}."""\n\n\n'
               "def ready() -> bool:\n    return True\n")
    decision = style.ask("write", str(target), content)
    if decision == "deny":
        style.say(f"Skipped writing {target}, as asked.")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    subprocess.run(["git", "add", str(target)], capture_output=True)
    subprocess.run(["git", "commit", "-q", "-m", f"{area}: {task[:50]} (round {round_no})"],
                   capture_output=True)
    style.say(f"Wrote {target} and committed it.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", choices=sorted(STYLES), default="claude")
    parser.add_argument("--task", default="Improve the code")
    parser.add_argument("--rounds", type=int, default=1, help="rounds before waiting for input")
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    style = STYLES[args.style]()
    style.banner(args.task)
    round_no = 1
    try:
        while True:
            for _ in range(args.rounds):
                run_round(style, args.task, round_no)
                record_usage(round_no)
                round_no += 1
            message = style.idle()
            if message.strip() in ("/exit", "/quit", "exit"):
                return 0
            args.task = message or args.task
    except (EOFError, KeyboardInterrupt):
        return 130


if __name__ == "__main__":
    sys.exit(main())
