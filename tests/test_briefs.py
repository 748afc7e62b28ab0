"""Scoped prompts and the lead's roster, model per role, staggered starts and secrets: what each
agent is told reaches it through its own command line (or first message) without touching a
tracked file, and an agent's API key goes nowhere but its worktree's .env.local and its process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agentdeck.core.agents import briefs
from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from tests.conftest import git, make_repo, wait, write_fleet

# records its command line and environment, then behaves like an idle prompt that logs input
ECHO = r"""
import json, os, sys, tty
json.dump({"argv": sys.argv[1:], "key": os.environ.get("ANTHROPIC_API_KEY")},
          open(os.environ["ECHO_LOG"] + "." + os.environ["AGENTDECK_AGENT"], "w"))
tty.setraw(0)
os.write(1, b"> ? for shortcuts\r\n")
while True:
    data = os.read(0, 4096)
    with open(os.environ["ECHO_LOG"] + "." + os.environ["AGENTDECK_AGENT"] + ".typed", "ab") as fh:
        fh.write(data)
"""



def whole_json(path: Path) -> object | None:
    """The file's JSON once the agent has written all of it (it writes in place: a reader may
    see it empty or half-written first)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None

def make_deck(tmp_path: Path, monkeypatch) -> tuple[Deck, Path, Path]:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path)
    echo = tmp_path / "echo.py"
    echo.write_text(ECHO)
    log = tmp_path / "argv"
    monkeypatch.setenv("ECHO_LOG", str(log))
    monkeypatch.setenv("AUTH_KEY_FROM_SHELL", "sk-secret-0123456789abcdef")
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands:
  claude: "{sys.executable} {echo} --permission-mode default --model {{model}}
    --append-system-prompt {{brief}} {{task}}"
  aider: "{sys.executable} {echo} --model {{model}} --read {{brief_file}}"
defaults:
  stagger: 7s
  models: {{lead: opus, worker: haiku}}
agents:
  - {{name: lead, role: lead, branch: main, agent: claude}}
  - name: auth
    agent: claude
    branch: feat/auth
    task: Implement JWT authentication endpoints.
    scope: [src/auth/]
    forbid: [src/types/]
    env: {{ANTHROPIC_API_KEY: "${{AUTH_KEY_FROM_SHELL}}"}}
  - {{name: search, agent: aider, branch: feat/search, model: gpt-x, task: Index the products.}}
approvals: {{hooks: false}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    return Deck.open(ctx, fleet), repo, log


def test_briefs_reach_each_agent_its_own_way_and_the_roster_stays_current(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    deck, _, log = make_deck(tmp_path, monkeypatch)
    slept: list[float] = []
    try:
        deck.start_all(sleep=slept.append)  # an injected clock: no real waiting
        assert slept == [7.0, 7.0]  # three agents, spaced by the fleet's stagger
        for name in ("lead", "auth", "search"):
            wait(lambda n=name: whole_json(Path(f"{log}.{n}")) is not None, f"{name} to start")
        auth = json.loads(Path(f"{log}.auth").read_text())["argv"]
        brief = auth[auth.index("--append-system-prompt") + 1]
        assert "Your task: Implement JWT authentication endpoints." in brief
        assert "Work only in: src/auth/." in brief and "Do not modify: src/types/" in brief
        assert "Run this worktree's tests" in brief
        assert auth[-1] == "Implement JWT authentication endpoints."  # the first message
        assert auth[auth.index("--model") + 1] == "haiku"  # a worker's model by role

        lead = json.loads(Path(f"{log}.lead").read_text())["argv"]
        assert lead[lead.index("--model") + 1] == "opus"
        lead_brief = lead[lead.index("--append-system-prompt") + 1]
        roster = briefs.roster_path(deck.ctx.state_dir)
        # the brief points at the roster: a copy taken at start would go stale
        assert str(roster) in lead_brief and "| auth |" not in lead_brief
        assert "| auth | feat/auth |" in roster.read_text()

        search = json.loads(Path(f"{log}.search").read_text())["argv"]
        assert search[search.index("--model") + 1] == "gpt-x"  # its own model wins
        brief_file = Path(search[search.index("--read") + 1])
        assert "Your task: Index the products." in brief_file.read_text()
        assert deck.ctx.state_dir in brief_file.parents  # not in any worktree
        # aider's command line does not carry the task: it is typed once the agent is ready
        typed = Path(f"{log}.search.typed")
        wait(lambda: typed.exists() and b"\r" in typed.read_bytes(), "the first message")
        assert typed.read_bytes() == b"Index the products.\r"

        for rec in deck.records:  # nothing changed in any worktree (but the test's fleet file)
            status = git(Path(rec.worktree), "status", "--porcelain").splitlines()
            assert [x for x in status if x != "?? agentdeck.yaml"] == []

        # the roster follows the workers' states
        deck.host.stop("search")
        wait(lambda: "| search | feat/search | stopped |" in roster.read_text(), "the roster")
    finally:
        deck.close()


def test_an_agents_key_goes_only_to_its_env_local_and_its_process(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    deck, _, log = make_deck(tmp_path, monkeypatch)
    secret = "sk-secret-0123456789abcdef"
    try:
        deck.start_all(sleep=lambda _s: None)
        wait(lambda: whole_json(Path(f"{log}.auth")) is not None, "auth to start")
        assert json.loads(Path(f"{log}.auth").read_text())["key"] == secret
        auth = next(r for r in deck.records if r.name == "auth")
        assert secret in (Path(auth.worktree) / ".env.local").read_text()
        state = deck.ctx.state_dir
        leaked = [p for p in state.rglob("*") if p.is_file()
                  and secret in p.read_text(errors="replace")]
        assert leaked == [], leaked  # registry, briefs, roster, audit log: none holds it
    finally:
        deck.close()


def test_each_builtin_agent_kind_gets_its_brief_its_own_way(tmp_path: Path) -> None:
    from agentdeck.core.agents.launch import command_for, takes_task, template_for
    from agentdeck.core.fleet.registry import AgentRecord

    repo = make_repo(tmp_path)
    write_fleet(repo, "version: 1\nagents:\n  - {name: w, branch: feat/w, scope: [src/w/]}\n")
    fleet = load_fleet(repo / "agentdeck.yaml")
    brief = ("BRIEF: work only in src/w/", tmp_path / "w.md")
    argvs = {}
    for kind in ("claude", "codex", "aider", "gemini"):
        rec = AgentRecord(name="w", agent=kind, role="worker", branch="feat/w", base="main",
                          worktree=str(tmp_path / "wt"), model="m1", task="Do the thing.")
        argvs[kind] = command_for(fleet, rec, brief=brief)
        assert takes_task(template_for(fleet, rec) or "") == (kind != "aider")
    assert argvs["claude"][-3:] == ["--append-system-prompt", brief[0], "Do the thing."]
    assert argvs["codex"][-1] == f"{brief[0]}\n\nYour task: Do the thing."
    assert argvs["gemini"][-2:] == ["-i", f"{brief[0]}\n\nYour task: Do the thing."]
    assert argvs["aider"][-2:] == ["--read", str(brief[1])]  # the task follows as a message
    resumed = command_for(fleet, AgentRecord(name="w", agent="codex", role="worker",
                                             branch="feat/w", base="main", worktree="/x",
                                             task="Do the thing."), resume=True, brief=brief)
    assert "Do the thing." not in " ".join(resumed)  # a resumed conversation has its task
