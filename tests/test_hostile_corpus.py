"""A corpus of hostile and broken fleet files and CLI calls: each gets one line
`agentdeck: error: …` with exit status 2 — never an internal error — and nothing is made (no
worktree, no branch, no registry entry). Run in this process (the CLI's main), one repository
for all, so the corpus stays fast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, make_repo

A = "{name: a, branch: feat/a}"
B = "{name: b, branch: feat/b}"


def fleet(body: str, agents: str = f"[{A}, {B}]") -> str:
    return f"version: 1\ndefaults: {{agent: shell}}\n{body}\nagents: {agents}\n"


def agent(fields: str) -> str:
    return fleet("", f"[{{name: a, branch: feat/a, {fields}}}]")


FLEETS: list[str] = [
    # the file as a whole
    "", "# only a comment\n", "[1, 2, 3]\n", "just a string\n", "42\n", "~\n",
    "version: 1\n---\nversion: 1\n", "version: 1\n\tagents: []\n", "version: [1\n",
    "version: 1\nagents: [\n", "{{{{\n", "version: 1\nversion: 1\n", "\x00\x01\x02\n",
    "version: 1\nx: &a 1\ny: *b\n", "version: 1\nbase: &b main\n<<: {base: x}\n",
    # top-level keys
    "version: 2\nagents: []\n", "version: x\nagents: []\n", "version: 1\nagents: {}\n",
    "version: 1\nagents: 5\n", "version: 1\nagents: [5]\n", "version: 1\nagents: [[]]\n",
    "version: 1\nagentz: []\n", "version: 1\nbase: [main]\nagents: []\n",
    "version: 1\nbase: {x: 1}\nagents: []\n", "version: 1\nworktrees: []\nagents: []\n",
    "version: 1\nworktrees: ../same\nagents: []\n", "version: 1\ndefaults: []\nagents: []\n",
    "version: 1\ndefaults: x\nagents: []\n", "version: 1\ncommands: []\nagents: []\n",
    "version: 1\ncommands: {x: 5}\nagents: []\n", "version: 1\ncommands: {x: ''}\nagents: []\n",
    "version: 1\napprovals: 5\nagents: []\n", "version: 1\napprovals: {rules: 5}\nagents: []\n",
    "version: 1\ndashboard: []\nagents: []\n", "version: 1\ndashboard: {theme: 5}\nagents: []\n",
    "version: 1\ndashboard: {agent_size: huge}\nagents: []\n",
    "version: 1\ndashboard: {agent_size: 0x0}\nagents: []\n",
    "version: 1\ndashboard: {nope: 1}\nagents: []\n", "version: 1\nresume: 5\nagents: []\n",
    "version: 1\nrate_limits: []\nagents: []\n",
    # defaults
    fleet("defaults: {agent: nope}"), fleet("defaults: {agentt: shell}"),
    fleet("defaults: {ports: {start: 0}}"), fleet("defaults: {ports: {start: 70000}}"),
    fleet("defaults: {ports: {start: 5000, end: 4000}}"), fleet("defaults: {ports: {vars: 5}}"),
    fleet("defaults: {ports: {vars: ['1X']}}"), fleet("defaults: {ports: []}"),
    fleet("defaults: {stagger: forever}"), fleet("defaults: {stagger: -1}"),
    fleet("defaults: {stagger: .nan}"), fleet("defaults: {stagger: 2h}"),
    fleet("defaults: {setup_timeout: 0}"), fleet("defaults: {setup_timeout: .inf}"),
    fleet("defaults: {setup_timeout: soon}"), fleet("defaults: {setup: 5}"),
    fleet("defaults: {setup: [5]}"), fleet("defaults: {setup: [[]]}"),
    fleet("defaults: {env_copy: /etc/passwd}"), fleet("defaults: {env_copy: [/etc/passwd]}"),
    fleet("defaults: {env_copy: [../secrets]}"), fleet("defaults: {env_copy: [.git/config]}"),
    fleet("defaults: {env_file: /tmp/x}"), fleet("defaults: {env_file: ../x}"),
    fleet("defaults: {env_file: .git/config}"), fleet("defaults: {env_file: ''}"),
    fleet("defaults: {env: []}"), fleet("defaults: {env: {'1BAD': x}}"),
    fleet("defaults: {env: {'A B': x}}"), fleet("defaults: {env: {A: '${AGENTDECK_UNSET_X}'}}"),
    fleet("defaults: {env: {A: [1]}}"), fleet("defaults: {models: {boss: x}}"),
    fleet("defaults: {models: []}"), fleet("defaults: {database: 5}"),
    fleet("defaults: {database: {mode: mongo}}"), fleet("defaults: {database: {mode: sqlite}}"),
    fleet("defaults: {database: {mode: postgres-db}}"),
    fleet("defaults: {database: {mode: postgres-db, url: 'mysql://x/y'}}"),
    fleet("defaults: {database: {mode: postgres-db, url: 'postgres://'}}"),
    fleet("defaults: {database: {mode: sqlite, path: /abs.db}}"),
    fleet("defaults: {database: {mode: sqlite, path: ../up.db}}"),
    fleet("defaults: {database: {mode: none, nope: 1}}"),
    fleet("defaults: {database: {mode: postgres-db, url: 'postgres://h/d', template: yes_please}}"),
    # agents
    fleet("", "[{branch: feat/a}]"), fleet("", "[{}]"),
    fleet("", "[{name: [a], branch: feat/a}]"), fleet("", "[{name: '', branch: feat/a}]"),
    fleet("", "[{name: 'a b', branch: feat/a}]"), fleet("", "[{name: a/b, branch: feat/a}]"),
    fleet("", "[{name: ../x, branch: feat/a}]"), fleet("", "[{name: -a, branch: feat/a}]"),
    fleet("", "[{name: .a, branch: feat/a}]"), fleet("", "[{name: 'é', branch: feat/a}]"),
    fleet("", "[{name: " + "a" * 80 + ", branch: feat/a}]"),
    fleet("", f"[{A}, {A}]"), fleet("", "[{name: a, branch: x}, {name: b, branch: x}]"),
    fleet("", "[{name: a-b, branch: x1, database: {mode: postgres-schema, url: 'postgres://h/d'}},"
              " {name: a_b, branch: x2, database: {mode: postgres-schema, url: 'postgres://h/d'}}]"),
    agent("branch2: x"), agent("role: boss"), agent("role: 5"), agent("agent: nope"),
    agent("agent: [shell]"), agent("model: []"), agent("task: {x: 1}"), agent("forbid: 5"),
    agent("forbid: [[]]"), agent("scope: 5"), agent("env: 5"), agent("env: {'x-y': 1}"),
    agent("setup: {}"), agent("env_copy: [/x]"), agent("database: {mode: x}"),
    agent("worktree: [x]"), agent("worktree: '../wt-{nope}'"),
    agent("worktree: '../wt-{name.__class__}'"), agent("worktree: '../wt-{0}'"),
    agent("worktree: '../wt-{name'"), agent("worktree: .git/wt"), agent("base: [x]"),
    agent("base: no-such-ref-anywhere"), agent("name2: x"),
    fleet("", "[{name: a, branch: '..'}]"), fleet("", "[{name: a, branch: 'a b'}]"),
    fleet("", "[{name: a, branch: 'x.lock'}]"), fleet("", "[{name: a, branch: '-x'}]"),
    fleet("", "[{name: a, branch: 'x~1'}]"), fleet("", "[{name: a, branch: 'x^'}]"),
    fleet("", "[{name: a, branch: 'x:y'}]"), fleet("", "[{name: a, branch: 'x\\y'}]"),
    fleet("", "[{name: a, branch: 'x//y'}]"), fleet("", "[{name: a, branch: 'x/'}]"),
    fleet("", "[{name: a, branch: '@{-1}'}]"), fleet("", "[{name: a, branch: []}]"),
    fleet("", "[{name: a, branch: feat/a, worktree: ../s}, {name: b, branch: feat/b, "
              "worktree: ../s}]"),
    fleet("", "[{name: a, branch: feat/a, worktree: ../s}, {name: b, branch: feat/b, "
              "worktree: ../s/in}]"),
    fleet("approvals: {rules: [{allow: sometimes}]}"), fleet("approvals: {rules: [5]}"),
    fleet("approvals: {rules: [{allow: bash, match: '('}]}"),
    fleet("approvals: {hooks: maybe}"), fleet("approvals: {hook_timeout: -5}"),
    fleet("dashboard: {keys: 5}"), fleet("dashboard: {release_key: [x]}"),
    fleet("dashboard: {notify: {x: 1}}"), fleet("rate_limits: {resume: perhaps}"),
]

CALLS: list[tuple[str, ...]] = [
    ("upp",), ("up", "--nope"), ("rm",), ("rm", "ghost"), ("stop",), ("stop", "ghost"),
    ("restart",), ("restart", "ghost"), ("logs",), ("diff",), ("merge",), ("spawn",),
    ("spawn", "a b"), ("spawn", "../x"), ("spawn", "x", "--agent", "nope"),
    ("spawn", "x", "--role", "boss"), ("detect", "--raw", "--cols", "-5"),
    ("detect", "--raw", "--rows", "0"), ("detect", "--raw", "--cols", "x"),
    ("detect", "--agent", "nope"), ("serve", "--port", "0"), ("serve", "--port", "70000"),
    ("serve", "--port", "http"), ("daemon", "nope"), ("completion",), ("completion", "tcsh"),
    ("up", "-f", "/dev/zero"), ("up", "-f", "/nonexistent/fleet.yaml"), ("-C", "/nonexistent"),
    ("up", "ghost", "--no-start"),
]


@pytest.fixture(scope="module")
def corpus_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("corpus"))


def nothing_made(repo: Path) -> None:
    assert git(repo, "worktree", "list").count("\n") == 1
    assert git(repo, "branch", "--list", "feat/*", "x*") == ""
    registry = repo / ".git" / "agentdeck" / "registry.json"
    assert not registry.exists() or json.loads(registry.read_text())["agents"] == {}


def test_the_corpus_is_large_enough() -> None:
    assert len(FLEETS) + len(CALLS) >= 150


@pytest.mark.parametrize("text", FLEETS, ids=[f"fleet{i}" for i in range(len(FLEETS))])
def test_a_hostile_fleet_file_is_refused_in_one_line(corpus_repo: Path, text: str, cli) -> None:
    path = corpus_repo / "hostile.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = cli("up", "--no-start", "-f", str(path), cwd=corpus_repo)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code == 2, (text, result.code, result.err, result.out)
    assert len(lines) == 1 and lines[0].startswith("agentdeck: error: "), (text, result.err)
    assert "internal error" not in lines[0], (text, lines[0])
    nothing_made(corpus_repo)


@pytest.mark.parametrize("args", CALLS, ids=[" ".join(c) for c in CALLS])
def test_a_hostile_call_is_refused_in_one_line(corpus_repo: Path, args: tuple[str, ...],
                                                 cli) -> None:
    result = cli(*args, cwd=corpus_repo)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code == 2, (args, result.code, result.err)
    assert len(lines) == 1 and lines[0].startswith("agentdeck: error: "), (args, result.err)
    assert "internal error" not in lines[0]
    nothing_made(corpus_repo)
