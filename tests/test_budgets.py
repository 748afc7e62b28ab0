"""Usage and budgets: the session host reads each agent's usage from its CLI's own records (a
Claude-style transcript here, written by the scripted agent as Claude Code writes its own),
shows it with the agent's state and in `ls --json`, and when an agent crosses its budget
interrupts it and queues the question: allow continues it with its budget raised."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agentdeck.core.agents.usage import aider_lines
from agentdeck.core.git.repo import open_repo
from agentdeck.daemon import lifecycle
from tests.conftest import make_repo, run_agentdeck, wait, write_fleet


def test_a_budget_crossing_interrupts_and_asks(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    agent = f"{sys.executable} -m agentdeck.demo_agents.agent --style claude --task {{task}}"
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{claude: {json.dumps(agent)}}}
agents:
  - name: spender
    agent: claude
    task: spend
    budget: {{tokens: 500}}
    env: {{HOME: "{home}", AGENTDECK_DEMO_SPEED: "0.02", AGENTDECK_DEMO_USAGE: "600"}}
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    assert run_agentdeck("start", cwd=repo).code == 0
    state = open_repo(repo).state_dir
    host = lifecycle.connect(state)
    assert host is not None
    try:
        def pending() -> list[dict[str, object]]:
            return list(host.queue_state["pending"])

        # its round's prompts, answered (allowed) as they come, until the budget question
        def budget_asked() -> bool:
            for entry in pending():
                summary = str(entry["prompt"]["summary"])  # type: ignore[index]
                if "over budget" in summary:
                    return True
                host.answer(int(entry["id"]), "allow", "key")  # type: ignore[arg-type]
            return False

        wait(budget_asked, "the budget question", timeout=60)
        [question] = pending()
        assert question["prompt"]["summary"] == (  # type: ignore[index]
            "spender is over budget (900 of 500 tokens): allow continues it with 1000 "
            "tokens, deny stops it")
        # (the question and the session's state are two pushes: the state may come second)
        wait(lambda: host.info("spender").usage == "900 tok · over budget (900 of 500 tokens)",
             "the usage saying so")
        info = host.info("spender")
        assert (info.tokens_in, info.tokens_out) == (600, 300)
        used = json.loads(run_agentdeck("ls", "--json", cwd=repo).out)
        assert used[0]["usage"] == {"tokens_in": 600, "tokens_out": 300, "cost": None}
        host.answer(int(question["id"]), "allow", "key")  # type: ignore[arg-type]
        wait(lambda: any("> continue" in line for line in host.snapshot("spender")),
             "the agent told to go on")
        wait(lambda: "over budget" not in host.info("spender").usage, "the mark cleared")
        audit = (state / "audit.jsonl").read_text().splitlines()
        assert json.loads(audit[-1])["via"] == "budget"
    finally:
        host.close()
        lifecycle.stop(state)


def test_aider_usage_lines() -> None:
    printed = ("Tokens: 2.3k sent, 150 received. Cost: $0.01 message, $0.03 session.\n"
               "Tokens: 10 sent, 5 received.\n")
    used = aider_lines(printed)
    assert (used.tokens_in, used.tokens_out, used.cost) == (2310, 155, 0.03)


def test_a_fleet_budget_stops_them_all_when_denied(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    agent = f"{sys.executable} -m agentdeck.demo_agents.agent --style claude --task {{task}}"
    env = f'{{HOME: "{home}", AGENTDECK_DEMO_SPEED: "0.02", AGENTDECK_DEMO_USAGE: "400"}}'
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{claude: {json.dumps(agent)}}}
budget: {{tokens: 1000}}
defaults: {{agent: claude, env: {env}}}
agents:
  - {{name: one, task: first}}
  - {{name: two, task: second}}
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    assert run_agentdeck("start", cwd=repo).code == 0
    state = open_repo(repo).state_dir
    host = lifecycle.connect(state)
    assert host is not None
    try:
        def question() -> dict[str, object] | None:
            for entry in list(host.queue_state["pending"]):
                summary = str(entry["prompt"]["summary"])  # type: ignore[index]
                if "over budget" in summary:
                    return dict(entry)
                host.answer(int(entry["id"]), "allow", "key")  # type: ignore[arg-type]
            return None

        wait(lambda: question() is not None, "the fleet's budget question", timeout=60)
        asked = question()
        assert asked is not None
        assert str(asked["prompt"]["summary"]).startswith(  # type: ignore[index]
            "the fleet is over budget (1200 of 1000 tokens): allow continues them with 2000 "
            "tokens, deny stops them")
        host.answer(int(asked["id"]), "deny", "key")  # type: ignore[arg-type]
        wait(lambda: all(i.process != "running" for i in host.sessions()), "both stopped")
    finally:
        host.close()
        lifecycle.stop(state)
