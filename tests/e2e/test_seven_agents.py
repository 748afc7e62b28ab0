"""Seven real agents in an 80x24 dashboard, answered from its queue with y and n.

Claude Code and Codex CLI with their approval hooks, the same two again with hooks off (run
through a link of another name, so they are watched through their screens only), a second
screen-only Claude, Aider and Gemini CLI — each in its own worktree, each against its own fake
model server, all in one dashboard too small to show any pane. Every prompt is queued once
with the whole command or file, `y` on the command runs it in that agent's worktree only, `n`
on the file keeps it from being written, and the audit log holds the whole request of each.
"""

from __future__ import annotations

import json
from pathlib import Path

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from tests.conftest import make_repo, until, write_fleet
from tests.e2e import real_agents
from tests.e2e.fake_models import FakeModelServer, Script
from tests.e2e.test_real_agents import COMMAND, NOTE, TASK, end_left_behind, names_note

# name -> (CLI, hooks on)
AGENTS = {"cc": ("claude", True), "cc-screen": ("claude", False), "cc-two": ("claude", False),
          "cx": ("codex", True), "cx-screen": ("codex", False), "ai": ("aider", False),
          "gm": ("gemini", False)}


async def test_seven_real_agents_in_an_80x24_dashboard(tmp_path: Path) -> None:
    for cli in {cli for cli, _ in AGENTS.values()}:
        real_agents.require(cli)
    repo = make_repo(tmp_path)
    servers, commands, entries = {}, {}, []
    links = tmp_path / "bin"
    links.mkdir()
    for name, (cli, hooked) in AGENTS.items():
        worktree = (tmp_path / f"wt-{name}").resolve()
        servers[name] = FakeModelServer(Script(command=COMMAND, file_path=NOTE),
                                        cwd=worktree).start()
        setup = real_agents.SETUPS[cli](tmp_path / f"home-{name}", worktree, servers[name].url)
        command = setup.command
        if cli in ("claude", "codex") and not hooked:
            # the same binary under another name: agentdeck hands hooks to `claude` and `codex`
            link = links / f"{cli}-screen"
            if not link.exists():
                link.symlink_to(real_agents.binary(cli))
            command = command.replace(str(real_agents.binary(cli)), str(link))
        commands[name] = command
        env = "".join(f"\n      {k}: {json.dumps(v)}" for k, v in setup.env.items())
        entries.append(f"  - name: {name}\n    agent: {cli}-{name}\n    branch: feat/{name}\n"
                       f"    task: {TASK}\n    env:{env}\n")
    kinds = "".join(f"  {cli}-{name}: {json.dumps(commands[name])}\n"
                    for name, (cli, _) in AGENTS.items())
    write_fleet(repo, "version: 1\nbase: origin/main\nworktrees: ../wt-{name}\n"
                f"commands:\n{kinds}agents:\n{''.join(entries)}"
                "approvals: {hooks: true, hook_timeout: 60}\n")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    answered: dict[str, list[str]] = {name: [] for name in AGENTS}
    others: list[str] = []
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one("#approval-table")

            def done() -> bool:
                return all(len(v) == 2 for v in answered.values())

            while not done():
                try:
                    await until(pilot, lambda: deck.queue.pending() or done(), timeout=120)
                except AssertionError:  # who is still to ask, and what each shows
                    left = [n for n, keys in answered.items() if len(keys) < 2]
                    screens = "\n\n".join(
                        f"{n} ({deck.host.info(n).state}):\n" + "\n".join(deck.host.snapshot(n))
                        for n in left)
                    raise AssertionError(f"no prompt for 120 s; answered {answered}, "
                                         f"others {others}; screens:\n{screens}") from None
                if done():
                    break
                entry = deck.queue.pending()[0]
                await until(pilot, lambda e=entry: str(e.id) in table.rows)  # shown
                table.focus()
                table.move_cursor(row=table.get_row_index(str(entry.id)))
                await pilot.pause()
                command = (entry.kind, entry.summary) == ("bash", COMMAND)
                key = "y" if command else "n"  # the file, and anything else an agent asks
                await pilot.press(key)
                await until(pilot, lambda e=entry: all(p.id != e.id
                                                       for p in deck.queue.pending()), 60)
                if command or names_note(entry.summary):
                    answered[entry.agent].append(key)
                else:  # e.g. Aider's "Add command output to the chat?"
                    others.append(entry.summary)
        audit = [json.loads(x) for x in deck.audit_path.read_text().splitlines()]
    finally:
        deck.close()
        for server in servers.values():
            server.stop()
        end_left_behind(tmp_path)
    # each agent asked for the command and the file once, in its own order (Aider writes first)
    assert {name: sorted(keys) for name, keys in answered.items()} == {
        name: ["n", "y"] for name in AGENTS}, (answered, others)
    for name, (_cli, hooked) in AGENTS.items():
        worktree = tmp_path / f"wt-{name}"
        assert (worktree / "ran.txt").exists() and not (worktree / NOTE).exists(), name
        mine = {a["summary"]: (a["decision"], a["via"]) for a in audit if a["agent"] == name
                and (a["summary"] == COMMAND or names_note(a["summary"]))}
        via = "hook" if hooked else "screen"
        assert mine[COMMAND] == ("allow", via), (name, mine)
        [note] = [k for k in mine if names_note(k)]  # the whole file or command that writes it
        assert mine[note] == ("deny", via), (name, mine)
    assert not (repo / "ran.txt").exists()
    assert all(a["by"] == "key" for a in audit), audit  # nothing withdrawn, nothing typed
