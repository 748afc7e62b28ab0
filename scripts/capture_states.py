"""Capture the corpus of real screens the detectors are judged on: tests/fixtures/corpus.

Runs each installed CLI offline against the moody fake model server (tests/e2e/fake_limits.py)
in an agentdeck session at 80x24, 120x40 and 200x60 and saves its screen at moments whose truth
the harness knows from the server's side, not from any detector: while a reply streams
(working), after it ended (idle), while calls are refused with 429 (retrying; attempt k is the
k-th refusal) and after the CLI stopped asking (gave up), on a first run's dialogs (waiting).
Each screen is saved as

  <cli>-<version>-<scenario>-<cols>x<rows>[-<n>].txt    the screen, one row a line
  <cli>-<version>-<scenario>-<cols>x<rows>[-<n>].json   what it shows (tests/test_detect_corpus.py
                                                        says how it is compared)

The newest Claude Code and Codex are captured too when installed beside the pinned ones
(scripts/install_agents.sh: .cache/agents-newest). Re-run after a CLI release and diff.

    python scripts/capture_states.py [claude codex gemini opencode copilot aider]
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentdeck.core.agents.launch import terminal_environment  # noqa: E402
from agentdeck.core.agents.sessions import LocalHost, SessionSpec  # noqa: E402
from tests.e2e import real_agents  # noqa: E402
from tests.e2e.fake_limits import QUESTIONS, MoodyServer  # noqa: E402
from tests.e2e.fake_models import Script  # noqa: E402
from tests.e2e.real_agents import stop_codex_daemon  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "corpus"
SIZES = ((80, 24), (120, 40), (200, 60))
WT = "/tmp/capture/wt"
# a reply quoting everything that looks like status: none of it is the CLI's own
QUOTED = ("Notes on the status lines, quoted: while it works the footer says esc to interrupt,\n"
          "the spinner reads ✳ Cooking… (12s · ↑ 200 tokens), a retry reads ✻ API error · "
          "retrying in 12s · attempt 2/10,\n"
          "Codex shows • Working (12s • esc to interrupt) and • Server is busy, reconnecting "
          "4/5 (1m 12s • esc to interrupt),\n"
          "then └ Exceeded retry limit, last status: 429 Too Many Requests; a finished turn "
          "says ✻ Conjured for 1m 22s.\n"
          "Gemini shows ⠸ Thinking... (esc to cancel, 3s), opencode ⬝⬝⬝⬝ esc interrupt, "
          "Copilot ◉ Working (Esc to cancel).\n"
          "Dialogs ask Do you want to proceed? with 1. Yes and 2. No. Nothing waits on you.")
TYPED = "esc to interrupt ✳ Cooking… (12s · ↑ 200 tokens)"
# CAPTURE_ONLY=typed,quoted: only the runs that save these scenarios (a fix to one of them)
ONLY = {name for name in os.environ.get("CAPTURE_ONLY", "").split(",") if name}


def wanted(*scenarios: str) -> bool:
    return not ONLY or bool(ONLY & set(scenarios))


@dataclass
class Run:
    """One CLI in an agentdeck session against its own moody server."""

    cli: str
    version: str
    cols: int
    rows: int
    server: MoodyServer
    host: LocalHost
    root: Path
    saved: list[str] = field(default_factory=list)

    def screen(self) -> str:
        text = "\n".join(line.rstrip() for line in self.host.snapshot(self.cli))
        return text.replace(str(self.root), "/tmp/capture").rstrip("\n") + "\n"

    def type(self, text: str, enter: bool = False) -> None:
        self.host.write(self.cli, text.encode())
        if enter:
            time.sleep(0.3)  # (a carriage return in the same write is taken as pasted)
            self.host.write(self.cli, b"\r")

    def until(self, condition: Callable[[], object], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.cli} {self.version} {self.cols}x{self.rows}: no {what};"
                                 f" screen:\n{self.screen()}")
            time.sleep(0.05)

    def settled(self, quiet: float = 1.0, timeout: float = 30) -> None:
        """No new output for `quiet` seconds: a finished frame, nothing animating."""
        self.until(lambda: time.monotonic() - self.host.info(self.cli).last_output > quiet,
                   "quiet screen", timeout)

    def showing(self, text: str, hold: float = 0.8) -> None:
        """The screen shows `text`, drawn a moment ago (a dialog whose glyph blinks is never
        quiet)."""
        self.until(lambda: text in self.screen(), repr(text))
        time.sleep(hold)

    def save(self, scenario: str, expected: dict[str, Any]) -> None:
        n = sum(1 for s in self.saved if s == scenario)
        self.saved.append(scenario)
        numbered = expected.pop("_numbered", False)
        name = f"{self.cli}-{self.version}-{scenario}-{self.cols}x{self.rows}"
        name += f"-{n + 1}" if n or numbered else ""
        text = self.screen()
        if not text.strip():
            raise SystemExit(f"{name}: blank screen")
        (OUT / f"{name}.txt").write_text(text, encoding="utf-8")
        want = {"agent": self.cli, "cols": self.cols, **expected}
        (OUT / f"{name}.json").write_text(json.dumps(want, indent=1, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
        print(f"  {name}: {json.dumps(expected, ensure_ascii=False)[:100]}", flush=True)


@contextmanager
def running(cli: str, folder: Path | None, cols: int, rows: int, *,
            tweak: Callable[[Path, Path], None] | None = None, env: dict[str, str] | None = None,
            command: str | None = None, task: bool = True, **mood: Any) -> Iterator[Run]:
    """`cli` (from `folder`: a newer install, or the pinned one) started on the task."""
    if folder is not None:
        os.environ["AGENTDECK_AGENTS_DIR"] = str(folder)
    else:
        os.environ.pop("AGENTDECK_AGENTS_DIR", None)
    version = version_of(cli, folder)
    with tempfile.TemporaryDirectory(prefix="capture-") as tmp:
        root = Path(tmp)
        worktree = root / "wt"
        worktree.mkdir()
        subprocess.run(["git", "init", "-q", str(worktree)], check=True)
        script = Script(command=command) if command else Script()
        server = MoodyServer(script, cwd=worktree, **mood).start()
        setup = real_agents.SETUPS[cli](root / "home", worktree, server.url)
        if tweak is not None:
            tweak(root / "home", worktree)
        brief = root / "brief.md"
        brief.write_text("You are a worker.\n")
        values = {"task": "make the notes", "prompt": "make the notes",
                  "brief": "You are a worker.", "brief_file": str(brief)}
        argv = [token.format(**values) for token in shlex.split(setup.command)]
        full_env = terminal_environment({**os.environ, **setup.env, **(env or {})})
        host = LocalHost()
        host.spawn(SessionSpec(cli, argv, str(worktree), full_env, agent=cli, cols=cols,
                               rows=rows))
        run = Run(cli, version, cols, rows, server, host, root)
        try:
            if task and cli not in real_agents.TASK_ON_COMMAND_LINE:
                run.until(lambda: run.host.info(cli).state == "idle", "input prompt")
                run.type("make the notes", enter=True)
            yield run
        finally:
            host.close()
            server.stop()
            if cli == "codex":
                stop_codex_daemon(full_env, root)


def version_of(cli: str, folder: Path | None) -> str:
    if folder is None:
        return real_agents.VERSIONS[cli]
    package = {"claude": "@anthropic-ai/claude-code", "codex": "@openai/codex"}[cli]
    data = json.loads((folder / "node_modules" / package / "package.json").read_text())
    return str(data["version"])


# -- Claude Code ---------------------------------------------------------------------------
def claude_state(change: Callable[[dict[str, Any]], None]) -> Callable[[Path, Path], None]:
    def tweak(home: Path, worktree: Path) -> None:
        path = home / ".claude.json"
        state = json.loads(path.read_text())
        change(state)
        path.write_text(json.dumps(state))
    return tweak


def claude(folder: Path | None, cols: int, rows: int) -> None:
    if wanted("working-thinking", "working-text", "finished", "typed"):
        with running("claude", folder, cols, rows, slow=14, thinking=True) as run:
            working(run, ("thinking", "text"))
            run.settled(3)  # (a loaded machine stalls its spinner a second before it is done)
            run.save("finished", {"state": "idle"})
            run.type(TYPED)
            run.showing(TYPED[:18])
            run.save("typed", {"state": "idle"})
    if wanted("quoted"):
        with running("claude", folder, cols, rows, text=QUOTED) as run:
            run.until(lambda: "Nothing waits" in run.screen(), "the reply", 180)
            run.settled(2)
            run.save("quoted", {"state": "idle"})
    retries = 3
    if wanted("retrying", "gave-up", "resumed"):
        with running("claude", folder, cols, rows, refuse=retries + 1,
                     env={"CLAUDE_CODE_MAX_RETRIES": str(retries)}) as run:
            for k in range(1, retries + 1):
                run.until(lambda k=k: len(run.server.refused) >= k, f"refusal {k}")
                time.sleep(0.5)
                if len(run.server.refused) == k:  # (still waiting for attempt k)
                    run.save("retrying", {"state": "rate-limited", "_numbered": True,
                                          "detail": f"retrying, {k}/{retries}"})
            run.until(lambda: len(run.server.refused) > retries, "the last refusal")
            run.settled(1.5)
            run.save("gave-up", {"state": "rate-limited", "detail": "gave up: 429"})
            sent = len(run.server.requests)
            run.type("go on", enter=True)  # (the server answers again: refusals are used up)
            run.until(lambda: answered_after(run.server, sent), "the next call")
            run.showing("Do you want to proceed?")
            run.save("resumed", {"state": "waiting"})  # (its script asks for a command)
    folder_q = f"— {WT}"
    if wanted("trust"):
        with running("claude", folder, cols, rows,
                     tweak=claude_state(lambda s: s.update(projects={}))) as run:
            run.showing("trust")
            run.save("trust", {"state": "waiting", "prompt": {
                "kind": "other", "summary_has": ["trust?", folder_q], "options": 2}})
    if wanted("apikey"):
        with running("claude", folder, cols, rows, tweak=claude_state(
                lambda s: s.update(customApiKeyResponses={"approved": [], "rejected": []}))) as run:
            run.showing("API key")
            run.save("apikey", {"state": "waiting", "prompt": {
                "kind": "other", "summary_has": ["API key?", "ANTHROPIC_API_KEY: ",
                                                 real_agents.FAKE_KEY[-12:]], "options": 2}})
    if wanted("onboarding-theme", "onboarding-notes"):
        with running("claude", folder, cols, rows,
                     tweak=claude_state(lambda s: s.pop("hasCompletedOnboarding"))) as run:
            run.showing("text style")
            run.save("onboarding-theme", {"state": "waiting", "prompt": {
                "kind": "other", "summary_has": ["text style"], "options": 7}})
            run.type("\r")
            run.showing("Press Enter to continue")
            run.save("onboarding-notes", {"state": "waiting", "prompt": {
                "kind": "other", "summary_has": ["Security notes"], "options": 1}})
    if wanted("onboarding-offline"):
        with running("claude", folder, cols, rows,
                     tweak=lambda home, wt: (home / ".claude.json").unlink()) as run:
            run.until(lambda: "Unable to connect" in run.screen(), "the offline screen")
            run.save("onboarding-offline", {"state": "idle"})


def answered_after(server: MoodyServer, start: int) -> bool:
    """A model call after request `start` was answered (not refused)."""
    return any(isinstance(r["body"], dict) and r["body"].get("refused") is None
               and r["path"].split("?")[0].endswith(("/messages", "/responses"))
               for r in server.requests[start:])


def working(run: Run, phases: tuple[str, ...], each: int = 2) -> None:
    """`each` screens in every phase of a slow reply, 1.5 s apart, none at a phase's edge."""
    for phase in phases:
        run.until(lambda p=phase: run.server.phase == p, f"{phase} streaming", 180)
        for _ in range(each):
            time.sleep(1.5)
            if run.server.phase == phase:
                run.save(f"working-{phase}", {"state": "working", "_numbered": True})
    run.until(lambda: run.server.phase == "", "the reply's end")


# -- Codex ---------------------------------------------------------------------------------
def codex_config(change: Callable[[str], str]) -> Callable[[Path, Path], None]:
    def tweak(home: Path, worktree: Path) -> None:
        path = home / "config.toml"
        path.write_text(change(path.read_text()))
    return tweak


def codex(folder: Path | None, cols: int, rows: int) -> None:
    # (only while it reasons: Codex draws no status row while an answer streams)
    if wanted("working-thinking", "finished", "typed"):
        with running("codex", folder, cols, rows, slow=14, thinking=True) as run:
            working(run, ("thinking",), each=3)
            run.settled(3)
            run.save("finished", {"state": "idle"})
            run.type(TYPED)
            run.showing(TYPED[:18])
            run.save("typed", {"state": "idle"})
    if wanted("quoted"):
        with running("codex", folder, cols, rows, text=QUOTED) as run:
            run.until(lambda: "Nothing waits" in run.screen(), "the reply", 180)
            run.settled(2)
            run.save("quoted", {"state": "idle"})
    if wanted("retrying", "gave-up", "resumed"):
        with running("codex", folder, cols, rows, refuse=None) as run:
            seen: set[str] = set()
            while True:  # each reconnect it draws, once
                run.until(lambda: run.server.refused, "a refusal")
                m = re.search(r"reconnecting (\d+)/(\d+) \(", run.screen())
                quiet = time.monotonic() - run.server.refused[-1] > 3
                if m and m.group(1) not in seen and not quiet:
                    seen.add(m.group(1))
                    run.save("retrying", {"state": "rate-limited",
                                          "detail": f"retrying, {m.group(1)}/{m.group(2)}",
                                          "_numbered": True})
                if quiet:
                    break
                time.sleep(0.3)
            run.settled(1.5)
            run.save("gave-up", {"state": "rate-limited", "detail": "gave up: 429"})
            run.server.refuse = len(run.server.refused)  # answered from now on
            sent = len(run.server.requests)
            run.type("go on", enter=True)
            run.until(lambda: answered_after(run.server, sent), "the next call")
            run.showing("Would you like to run")
            run.save("resumed", {"state": "waiting"})  # (its script asks for a command)
    if wanted("trust"):
        with running("codex", folder, cols, rows,
                     tweak=codex_config(lambda text: text.split("[projects.")[0])) as run:
            run.showing("Trust this folder?")
            run.save("trust", {"state": "waiting", "prompt": {
                "kind": "other", "summary_has": ["Trust this folder?", WT], "options": 2}})
    features = "\n[features]\ndefault_mode_request_user_input = true\n"
    if wanted("question"):
        with running("codex", folder, cols, rows, codex_call=("request_user_input", QUESTIONS),
                     tweak=codex_config(lambda text: text.replace(
                         "check_for_update_on_startup = false\n",
                         "check_for_update_on_startup = false\n" + features, 1))) as run:
            run.showing("Question 1/")
            run.save("question", {"state": "waiting", "prompt": {
                "kind": "other", "summary_has": ["Which database should the tests use?"],
                "options": 3}})


# -- the others ----------------------------------------------------------------------------
def plain(cli: str) -> Callable[[Path | None, int, int], None]:
    """Working, finished, quoted: every CLI."""
    def capture(folder: Path | None, cols: int, rows: int) -> None:
        if wanted("working-text", "finished"):
            with running(cli, folder, cols, rows, slow=10) as run:
                working(run, ("text",))
                run.settled(2)
                run.save("finished", {"state": "idle"})
        if not wanted("quoted"):
            return
        with running(cli, folder, cols, rows, text=QUOTED) as run:
            run.until(lambda: len(run.server.requests) > 0, "request", 180)
            run.until(lambda: "Nothing waits" in run.screen(), "the reply", 180)
            run.settled(3)
            run.save("quoted", {"state": "idle"})
    return capture


def aider(folder: Path | None, cols: int, rows: int) -> None:
    with running("aider", folder, cols, rows, command="ls -la") as run:
        for answer in ("Create new file?", "Run shell command?"):
            run.until(lambda a=answer: a in run.screen().rstrip().rsplit("\n", 1)[-1],
                      answer)
            run.type("y\r")
        run.showing("Add command output")
        run.save("output", {"state": "waiting", "prompt": {
            "kind": "other", "summary_has": ["Add command output to the chat?", "ls -la"]}})
    if cols != 80:
        return  # (a retry run takes over a minute: one size)
    with running("aider", folder, cols, rows, refuse=None) as run:
        run.until(lambda: "Retrying in 4.0" in run.screen(), "a retry", 60)
        run.save("retrying", {"state": "rate-limited", "detail": "retrying"})
        run.until(lambda: run.screen().rstrip().endswith(">"), "its prompt again", 120)
        run.settled()
        run.save("gave-up", {"state": "rate-limited", "detail": "gave up: 429"})


def spinner_verbs(folder: Path) -> None:
    """Claude Code's spinner verbs ("Cooking", "Kneading", …) and its finished-turn verbs
    ("Worked", "Brewed", …), as its binary holds them: tests/test_detect_corpus.py puts each in
    its status row."""
    exe = folder / "node_modules/@anthropic-ai/claude-code-linux-x64/claude"
    data = exe.read_bytes().decode("latin-1")
    found = {}
    for key, first in (("working", '["Accomplishing"'), ("finished", '["Baked"')):
        start = data.index(first)
        words = json.loads(data[start: data.index("]", start) + 1].replace("\\xE9", "é"))
        found[key] = sorted(set(words))
    found["version"] = version_of("claude", folder)
    (OUT / "claude-spinner-verbs.json").write_text(json.dumps(found, indent=1,
                                                              ensure_ascii=False) + "\n")


CROPPED = ("working-", "finished", "retrying", "gave-up", "quoted", "typed")
CROP = 12  # rows: what a small grid cell shows of a screen (its bottom rows)
# words without which a partial screen cannot show its state (a limit's error far above the
# input box is not in its bottom rows: that crop says nothing, and is not made)
WITNESS = {"rate-limited": ("retrying", "reconnecting", "Retrying", "API Error",
                            "exceeded retry limit"),
           "working": ("…", "esc to", "esc interrupt", "Working", "Thinking")}


def crops() -> None:
    """Partial screens: the bottom rows of each tall screen, as a pane in the dashboard's grid
    shows them; they must read as the whole screen does."""
    for screen in sorted(OUT.glob("*.txt")):
        stem = screen.stem
        if "-crop" in stem or "reconstructed" in stem or not any(
                f"-{s}" in stem for s in CROPPED):
            continue
        rows = screen.read_text(encoding="utf-8").rstrip("\n").split("\n")
        want = json.loads(screen.with_suffix(".json").read_text(encoding="utf-8"))
        if want["cols"] < 120 or len(rows) <= CROP:
            continue  # (a 24-row screen is about what a grid cell shows)
        witness = WITNESS.get(str(want["state"]), ("",))
        if not any(word in "\n".join(rows[-CROP:]) for word in witness):
            continue  # what shows its state stands above the rows a cell shows
        want["source"] = f"crop: the bottom {CROP} rows of {stem}"
        name = f"{stem}-crop{CROP}"
        (OUT / f"{name}.txt").write_text("\n".join(rows[-CROP:]) + "\n", encoding="utf-8")
        (OUT / f"{name}.json").write_text(json.dumps(want, indent=1, ensure_ascii=False)
                                          + "\n", encoding="utf-8")


CAPTURES: dict[str, Callable[[Path | None, int, int], None]] = {
    "claude": claude, "codex": codex, "gemini": plain("gemini"), "opencode": plain("opencode"),
    "copilot": plain("copilot"), "aider": aider}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    newest = ROOT / ".cache" / "agents-newest"
    spinner_verbs(newest.resolve() if newest.exists() else ROOT / ".cache" / "agents")
    for cli in sys.argv[1:] or list(CAPTURES):
        folders: list[Path | None] = [None]
        if cli in ("claude", "codex") and newest.exists():
            folders.append(newest.resolve())
        for folder in folders:
            for cols, rows in SIZES:
                print(f"{cli} {version_of(cli, folder)} {cols}x{rows}", flush=True)
                CAPTURES[cli](folder, cols, rows)
    crops()


if __name__ == "__main__":
    main()
