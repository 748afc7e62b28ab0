"""Capture what the real agent CLIs print, as detector fixtures.

Runs each installed CLI (scripts/install_agents.sh) offline against the fake model server, in an
agentdeck session at 80 and 120 columns, with no hooks (so each permission dialog is drawn), and
writes to tests/fixtures/real/:

  <cli>-<version>-<cols>.pty            every byte the CLI wrote to its terminal
  <cli>-<version>-<step>-<cols>.txt     the screen when the step's prompt was detected / at idle
  <cli>-<version>-<step>-<cols>.json    what a detector must say about it (from the script: the
                                        command, the file; the keys from the CLI's documentation)

A new CLI release: bump its version in tests/e2e/real_agents.py, reinstall, re-run this script
and diff the fixtures.

    python scripts/capture_real.py [claude codex ...]
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentdeck.core.agents.sessions import LocalHost, SessionSpec  # noqa: E402
from agentdeck.core.oversight.approvals import ALLOW, DENY, ApprovalQueue  # noqa: E402
from tests.e2e import real_agents  # noqa: E402
from tests.e2e.fake_models import FakeModelServer, Script  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "real"
COMMAND = "echo ran > ran.txt"
NOTE = "notes.txt"


def expected(cli: str, step: str, screen: list[str], worktree: Path) -> dict[str, object]:
    if step == "idle":
        return {"state": "idle", "prompt": None}
    if cli == "aider":
        keys = {"allow": "y\r", "allow_always": None, "deny": "n\r"}
        kind, summary = ("bash", COMMAND) if step == "bash" else ("write", NOTE)
    elif cli == "copilot":
        # its numbered menu's last option asks what to do instead; Esc rejects; "Yes, and …"
        # (always) is offered for some commands only; a file is named by its whole path
        numbers = [m.group(1) for line in screen if (m := re.match(r"^[\s│]*[❯]?\s*(\d)\. ",
                                                                   line))]
        keys = {"allow": "1", "allow_always": "2" if len(numbers) > 2 else None,
                "deny": "\x1b"}
        kind, summary = ("bash", COMMAND) if step == "bash" else ("write", str(worktree / NOTE))
    elif cli in ("claude", "gemini", "qwen"):
        # numbered menu: 1 allows; the last option ("No …") denies; "always allow" / "allow
        # for this session", when offered, is the second
        numbers = [m.group(1) for line in screen
                   if (m := re.match(r"^[\s│]*[❯●]?\s*(\d)\. ", line))]
        keys = {"allow": "1", "allow_always": "2", "deny": numbers[-1] if numbers else "?"}
        kind, summary = ("bash", COMMAND) if step == "bash" else ("write", NOTE)
    elif cli in ("opencode", "kilo"):
        # one row of options, "Allow once" highlighted; always asks to confirm; Kilo's Esc
        # opens a box for what to do instead, sent empty with Enter
        keys = {"allow": "\r", "allow_always": "\x1b[C\x00\r\x00\r",
                "deny": "\x1b\x00\r" if cli == "kilo" else "\x1b"}
        kind, summary = ("bash", COMMAND) if step == "bash" else ("write", NOTE)
    else:
        keys = {"allow": "y", "allow_always": "p", "deny": "\x1b"}
        kind = "bash"
        summary = COMMAND if step == "bash" else (
            f"printf '%s\\n' 'written by the scripted model' > '{worktree / NOTE}'")
    return {"state": "waiting", "prompt": {"kind": kind, "summary": summary, **keys}}


def capture(cli: str, cols: int, rows: int = 40) -> None:
    version = real_agents.VERSIONS[cli]
    with tempfile.TemporaryDirectory(prefix=f"capture-{cli}-") as tmp:
        root = Path(tmp)
        worktree = (root / "wt").resolve()
        worktree.mkdir()
        subprocess.run(["git", "init", "-q", str(worktree)], check=True)
        server = FakeModelServer(Script(command=COMMAND, file_path=NOTE), cwd=worktree).start()
        setup = real_agents.SETUPS[cli](root / "home", worktree, server.url)
        brief_file = root / "brief.md"
        brief_file.write_text("You are a worker. Run this worktree's tests and report.\n")
        values = {"task": "make the notes", "prompt": "make the notes",
                  "brief": "You are a worker.", "brief_file": str(brief_file)}
        argv = [token.format(**values) for token in shlex.split(setup.command)]
        host = LocalHost()
        raw = bytearray()
        host.subscribe(lambda e: raw.extend(e.data) if e.kind == "output" and e.data else None)
        queue = ApprovalQueue(host, None)
        env = {**os.environ, "TERM": "xterm-256color", **setup.env}
        host.spawn(SessionSpec(cli, argv, str(worktree), env, agent=cli, cols=cols, rows=rows))
        try:
            if cli not in real_agents.TASK_ON_COMMAND_LINE:
                host.wait_for(cli, lambda i: i.state == "idle", 60)
                host.write(cli, b"make the notes")
                time.sleep(0.2)
                host.write(cli, b"\r")
            saved: set[str] = set()
            while saved != {"bash", "write"}:
                deadline = time.monotonic() + 60
                while not queue.pending():
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{cli}: no prompt after {saved}; screen:\n"
                                         + "\n".join(host.snapshot(cli)))
                    time.sleep(0.05)
                time.sleep(0.5)  # fully drawn
                entry = queue.pending()[0]
                step = ("bash" if entry.summary == COMMAND else
                        "write" if NOTE in entry.summary else "other")
                if step != "other":
                    save(cli, version, step, cols, host.snapshot(cli), worktree)
                    saved.add(step)
                queue.answer(entry.id, ALLOW if step != "other" else DENY)
            deadline = time.monotonic() + 60
            while not (host.info(cli).state == "idle" and not queue.pending()):
                for entry in queue.pending():  # a last question (Aider's "add output?")
                    queue.answer(entry.id, DENY)
                if time.monotonic() > deadline:
                    raise SystemExit(f"{cli}: not idle; screen:\n" + "\n".join(host.snapshot(cli)))
                time.sleep(0.1)
            time.sleep(0.5)
            save(cli, version, "idle", cols, host.snapshot(cli), worktree)
            upto = len(raw)  # what follows is the CLI being stopped, not the scenario
        finally:
            queue.close()
            host.close()
            server.stop()
        (OUT / f"{cli}-{version}-{cols}.pty").write_bytes(
            bytes(raw[:upto]).replace(str(root).encode(), b"/tmp/capture"))
        print(f"{cli} {version} at {cols} columns: {len(raw):,} bytes")


def save(cli: str, version: str, step: str, cols: int, screen: list[str],
         worktree: Path) -> None:
    # temp paths differ on every run: write them as one fixed path so fixtures diff cleanly
    tmp_root = str(worktree.parent)
    text = "\n".join(line.rstrip() for line in screen).replace(tmp_root, "/tmp/capture")
    base = OUT / f"{cli}-{version}-{step}-{cols}"
    Path(f"{base}.txt").write_text(text + "\n", encoding="utf-8")
    want = expected(cli, step, text.split("\n"), Path("/tmp/capture/wt"))
    Path(f"{base}.json").write_text(json.dumps(want, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for cli in sys.argv[1:] or list(real_agents.SETUPS):
        if real_agents.binary(cli) is None:
            print(real_agents.missing_reason(cli), file=sys.stderr)
            continue
        # opencode and Kilo add a sidebar beside the conversation wider than 120 columns
        for cols in (80, 120, 126) if cli in ("opencode", "kilo") else (80, 120):
            capture(cli, cols)


if __name__ == "__main__":
    main()
