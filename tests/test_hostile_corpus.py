"""A corpus of hostile and broken fleet files and CLI calls: each gets one line
`agentdeck: error: …` with exit status 2 — never an internal error — and nothing is made (no
worktree, no branch, no registry entry, no file beside the repository). Run in this process
(the CLI's main), one repository for all, so the corpus stays fast.

FLEETS and CALLS only need refusing; AIMED (issue 29's validation gaps: names and keys ending in
a newline, git's special names as branches, endless budgets, reserved port variables, YAML
tags, names that differ in case, notify values, release keys and themes) must also be refused
for the right reason: a word of the expected message is in the line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Run, git, make_repo

A = "{name: a, branch: feat/a}"
B = "{name: b, branch: feat/b}"


def fleet(body: str, agents: str = f"[{A}, {B}]") -> str:
    # a body with defaults of its own replaces these (two `defaults:` would be refused as a
    # duplicate key, before the case's own value is ever read)
    defaults = "" if body.startswith("defaults:") else "defaults: {agent: shell}\n"
    return f"version: 1\n{defaults}{body}\nagents: {agents}\n"


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
    fleet("defaults: {setup: [{x: 1}]}"), fleet("defaults: {setup: [[]]}"),
    fleet("defaults: {env_copy: /etc/passwd}"), fleet("defaults: {env_copy: [/etc/passwd]}"),
    fleet("defaults: {env_copy: [../secrets]}"), fleet("defaults: {env_copy: [.git/config]}"),
    fleet("defaults: {env_file: /tmp/x}"), fleet("defaults: {env_file: ../x}"),
    fleet("defaults: {env_file: .git/config}"), fleet("defaults: {env_file: ''}"),
    fleet("defaults: {env: []}"), fleet("defaults: {env: {'1BAD': x}}"),
    fleet("defaults: {env: {'A B': x}}"),
    fleet("defaults: {env: {A: '${AGENTDECK_UNSET_X}'}}", f"[{A}]"),  # (one agent: one line)
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
    # rules (the parsed-command matching of issue 29 is tested in its own table)
    fleet("approvals: {rules: [{allow: bash, deny: bash}]}"), fleet("approvals: {rules: [{}]}"),
    fleet("approvals: {rules: [{allow: [bash]}]}"), fleet("approvals: {rules: [{allow: bash, "
                                                         "agents: {x: 1}}]}"),
    fleet("approvals: {rules: [{allow: bash, role: boss}]}"),
    fleet("approvals: {rules: [{allow: bash, match: '(?P<'}]}"),
    fleet("approvals: {rules: [{allow: bash, nope: 1}]}"), fleet("approvals: {rules: {x: 1}}"),
    # the sandbox
    fleet("defaults: {sandbox: docker}"), fleet("defaults: {sandbox: {mode: chroot}}"),
    fleet("defaults: {sandbox: {network: maybe}}"), fleet("defaults: {sandbox: 5}"),
    fleet("defaults: {sandbox: {mode: bwrap, nope: 1}}"), agent("sandbox: [bwrap]"),
    # files copied or written into a worktree
    fleet("defaults: {env_copy: ['']}"), fleet("defaults: {env_copy: ['a/../../x']}"),
    fleet("defaults: {env_copy: [.GIT/config]}"), fleet('defaults: {env_copy: [".env\\n"]}'),
    fleet("defaults: {env_copy: [/root/.ssh/id_ed25519]}"), fleet("defaults: {env_copy: 5}"),
    fleet("defaults: {env_copy: [[.env]]}"), fleet('defaults: {env_file: ".env\\n"}'),
    fleet("defaults: {env_file: .Git/info/exclude}"), fleet("defaults: {env_file: /dev/null}"),
    fleet("defaults: {env_copy_max: -1}"), fleet("defaults: {env_copy_max: lots}"),
    fleet("defaults: {env_copy_max: [1]}"), fleet("defaults: {env_copy_max: true}"),
    fleet("defaults: {database: {mode: sqlite, path: '.git/x.db'}}"),
    fleet('defaults: {database: {mode: sqlite, path: "db\\n"}}'),
    fleet('worktrees: "../{repo}-{name}\\n"'), agent('worktree: "../wt\\n"'),
    # hosts
    fleet("hosts: {local: {ssh: box, repo: /srv}}"),
    fleet('hosts: {"h\\n": {ssh: box, repo: /srv}}'),
    fleet("hosts: {h: {ssh: -oProxyCommand=x, repo: /srv}}"), fleet("hosts: {h: {ssh: 'a b', "
                                                                 "repo: /srv}}"),
    fleet("hosts: {h: {ssh: box, repo: srv}}"), fleet("hosts: {h: {ssh: box}}"),
    fleet("hosts: {h: {ssh: box, repo: /srv, nope: 1}}"), agent("host: nowhere"),
]

# ---- issue 29's validation gaps: (fleet file, a word its one error line must hold) ------------


def named(name: str) -> str:
    return fleet("", f'[{{name: "{name}", branch: feat/a}}]')


def branch(name: str) -> str:
    return fleet("", f'[{{name: a, branch: "{name}"}}]')


def ports(vars_: str) -> str:
    return fleet(f"defaults: {{agent: shell, ports: {{{vars_}}}}}")


def notify(body: str) -> str:
    return fleet(f"notify: {body}")


def dashboard(body: str) -> str:
    return fleet(f"dashboard: {{{body}}}")


NAME_ERROR, BRANCH_ERROR, SPECIAL = "agent name", "not a valid branch name", "special names"
RESERVED, BAD_ENV, TAGS, URL = "rely on", "not a valid environment variable", "YAML tags", "URL"

AIMED: list[tuple[str, str]] = [
    # a name or a key ending in a newline (`$` matches before one), or carrying another control
    *[(named(n), NAME_ERROR) for n in (
        "a1\\n", "a1\\r", "a\\nb", "a1\\t", "\\ta1", "a1 ", "a\\0", "a1\\u2028", "a1\\u200b",
        "\\u0430" + "1", "\\uff411", "a1\\e[31m", "a1\\x85", "\\na1", "a1\\n\\n")],
    (fleet("defaults: {env: {\"A\\n\": x}}"), BAD_ENV),
    (fleet("defaults: {env: {\"A\\nB\": x}}"), BAD_ENV),
    (fleet("defaults: {env: {\"\\nA\": x}}"), BAD_ENV), (agent('env: {"KEY\\n": 1}'), BAD_ENV),
    (agent('env: {"KEY\\r": 1}'), BAD_ENV), (ports('vars: ["PORT\\n"]'), BAD_ENV),
    (ports('vars: [PORT], extra: ["API_PORT\\n"]'), BAD_ENV),
    (fleet('defaults: {env_passthrough: ["LC_*\\n"]}'), "not a variable name"),
    (fleet('commands: {"kind\\n": bash}'), "agent kind"),
    (fleet('hosts: {"box\\n": {ssh: box, repo: /srv}}'), "host name"),
    # git's special names, option look-alikes and what check-ref-format refuses, as branches
    *[(branch(b), SPECIAL) for b in (
        "@", "HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD",
        "BISECT_HEAD", "REBASE_HEAD", "AUTO_MERGE")],
    *[(branch(b), "'-'") for b in ("-x", "--force", "-D", "-", "--upload-pack=touch x")],
    *[(branch(b), "short name") for b in ("refs/heads/main", "refs/heads/feat/a",
                                          "refs/remotes/origin/main", "refs/tags/v1")],
    *[(branch(b), BRANCH_ERROR) for b in (
        "feat/a\\n", "feat/a\\t", "feat /a", "a@{u}", "@{0}", "x.", ".x", "a/.b", "a/b.lock",
        "x*", "x?", "x[", "a\\x7f", "/feat", "a..b", "feat\\\\a", "x~", "x:main")],
    (branch(""), "a branch name is needed"),
    # a budget that can never be crossed, or is no number
    *[(fleet(f"budget: {{usd: {usd}}}"), "budget.usd") for usd in (
        ".nan", ".NaN", ".inf", "-.inf", ".Inf", "0", "-1", "-0.0", "1.0e+400", "'5'", "true",
        "[5]", "{x: 1}")],
    (agent("budget: {usd: .nan}"), "budget.usd"), (agent("budget: {usd: .inf}"), "budget.usd"),
    (fleet("defaults: {agent: shell, budget: {usd: .nan}}"), "budget.usd"),
    *[(fleet(f"budget: {{tokens: {t}}}"), "tokens") for t in (
        "0", "-1", "1.5", ".nan", ".inf", "10000000000000", "many")],
    (fleet("budget: {usd: 5, nope: 1}"), "unknown key"), (fleet("budget: 5"), "mapping"),
    # variables a port must not fill: what programs run by, and what agentdeck sets itself
    *[(ports(f"vars: [{v}]"), RESERVED) for v in (
        "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "HOME", "SHELL", "USER",
        "PYTHONPATH", "NODE_OPTIONS", "BASH_ENV", "ENV", "IFS", "DATABASE_URL", "DB_SCHEMA",
        "COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "AGENTDECK_AGENT", "AGENTDECK_BRANCH", "GIT_DIR",
        "GIT_SSH_COMMAND", "LC_ALL", "TMPDIR", "PERL5OPT", "RUBYOPT", "JAVA_TOOL_OPTIONS", "path",
        "http_proxy", "TERM")],
    (ports("vars: [PORT, PATH]"), RESERVED), (ports("vars: [PORT], extra: [LD_PRELOAD]"), RESERVED),
    (ports("vars: [PORT], extra: [HOME]"), RESERVED),
    # YAML tags (a constructor that does not exist, or one that makes something else)
    *[(fleet(f"base: {value}"), TAGS) for value in (
        "!foo x", "!!python/name:os.system x", "!!python/object/apply:os.system ['true']",
        "!!python/object:os.PathLike {}", "!!python/module:os", "!!python/tuple [1]", "!!str main",
        "! main", "!!binary aGk=", "!!set {a}", "!!omap [a: 1]", "!!timestamp 2020-01-01",
        "!!float 1", "!<tag:yaml.org,2002:str> main", "&b !x main")],
    (fleet("").replace("defaults: {agent: shell}", "defaults: !!map {agent: shell}"), TAGS),
    (fleet("", "!!seq [{name: a, branch: feat/a}]"), TAGS),
    (fleet("", "[!!map {name: a, branch: feat/a}]"), TAGS),
    (fleet("", "[{name: !x a, branch: feat/a}]"), TAGS),
    (fleet("").replace("version: 1", "!!str version: 1"), TAGS),
    ("%TAG !e! tag:example.com,2000:\n---\n" + fleet("base: !e!x main"), TAGS),
    (fleet("base: ="), "quote it"),
    # names that differ only in case: one folder on a case-insensitive disk
    *[(fleet("", f"[{{name: {x}, branch: x1}}, {{name: {y}, branch: x2}}]"), "only in case")
      for x, y in (("A1", "a1"), ("auth", "AUTH"), ("Api.v2", "api.V2"), ("db_X", "DB_x"))],
    (fleet("", "[{name: a, branch: x1}, {name: b, branch: x2}, {name: B, branch: x3}]"),
     "only in case"),
    (fleet("", "[{name: a, branch: feat/X}, {name: b, branch: feat/x}]"), "in any case"),
    # notify: a topic is a path of the server's URL, a URL is one line
    *[(notify(f"{{ntfy: {{topic: '{t}'}}}}"), "ntfy topic") for t in (
        "", "a/../../b", "a b", "../x", ".", "a?b=c", "a#b", "ü", "x" * 65, "a%2fb")],
    (notify('{ntfy: {topic: "a\\nb"}}'), "ntfy topic"),
    (notify('{ntfy: "a\\n"}'), "ntfy topic"),
    *[(notify(f'{{webhook: "{u}"}}'), URL) for u in (
        "http://x\\n", "https://h/\\r\\nX-Evil: 1", "ftp://x", "http://", "javascript:alert(1)",
        "http:// x", "file:///etc/passwd", "http://[::1", " http://x", "https://", "//x", "x",
        "https://h/\\0", "https://h/\\t", "http://a b", "gopher://x:70/")],
    (notify('{webhook: {url: "http://x\\n", format: json}}'), URL),
    (notify('{ntfy: {topic: t, server: "ftp://x"}}'), URL),
    (notify('{ntfy: {topic: t, server: "http://x\\n"}}'), URL),
    (notify("{events: [nope]}"), "events"), (notify("{after: .nan}"), "after"),
    (notify("{after: -1}"), "after"), (notify("{desktop: maybe}"), "desktop"),
    (notify("{webhook: {url: 'https://h', format: xml}}"), "format"),
    (notify("{webhook: {format: json}}"), "url"), (notify("{nope: 1}"), "unknown key"),
    # the release key must be a key the pane knows, and not one agents need
    *[(dashboard(f"release_key: '{k}'"), "is not a key") for k in (
        "nonsense+++", "", "+", "ctrl+", "ctrl+ctrl+a", "CTRL+A", " ctrl+a", "ctrl+a ",
        "control+a", "ctrl++")],
    *[(dashboard(f"release_key: '{k}'"), "not a key name") for k in (
        "ctrl+nonsense", "ctrl+é", "f25", "ctrl+ab")],
    *[(dashboard(f"release_key: '{k}'"), "agents need") for k in (
        "a", "shift+a", "enter", "escape", "tab", "space", "backspace", "1")],
    (dashboard('release_key: "ctrl+a\\n"'), "not a key name"),
    # a theme is a name, never a path
    *[(dashboard(f"theme: '{t}'"), "not a theme name") for t in (
        "../../../etc/passwd", "/etc/passwd", "a/b", "~/x", ".hidden", "", "agentdeck-dark/../x",
        "..")],
    (dashboard('theme: "agentdeck-dark\\n"'), "not a theme name"),
    *[(dashboard(f"theme: {t}"), "no theme named") for t in ("nope", "passwd", "Agentdeck-Dark")],
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
    # issue 29: names, branches and themes from the command line
    ("spawn", "a1\n"), ("spawn", "a\tb"), ("spawn", ""), ("spawn", "\u0430" + "1"),
    *[("spawn", "x", "--branch", b) for b in (
        "@", "HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD", "refs/heads/main", "x\n", "@{-1}",
        "x y", "x..y")],
    ("spawn", "x", "--branch=-x"), ("spawn", "x", "--branch=--force"),
    ("spawn", "x", "--base=--upload-pack=touch pwned"), ("spawn", "x", "--agent", "shell\n"),
    ("spawn", "x", "--role", "lead\n"), ("serve", "--theme", "../../../etc/passwd", "--port", "1"),
    ("merge", "@"), ("merge", "HEAD"), ("diff", "@"), ("rm", "a1\n"), ("stop", "@"),
    ("start", "a1\n"), ("completion", "bash\n"), ("detect", "--agent", "x\n"),
]


@pytest.fixture(scope="module")
def corpus_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("corpus"))


# what is beside the repository before any case ran: worktrees go there (../app-a), so a case
# that leaves anything there — even an empty folder — wrote outside
BESIDE: dict[Path, list[str]] = {}


def nothing_made(repo: Path) -> None:
    assert git(repo, "worktree", "list").count("\n") == 1
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main\n"
    registry = repo / ".git" / "agentdeck" / "registry.json"
    assert not registry.exists() or json.loads(registry.read_text())["agents"] == {}
    beside = BESIDE.setdefault(repo, sorted(os.listdir(repo.parent)))
    assert sorted(os.listdir(repo.parent)) == beside
    status = git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all")
    assert {line[3:] for line in status.splitlines()} <= {"hostile.yaml", ".env"}, status


def test_the_corpus_is_large_enough() -> None:
    assert len(FLEETS) + len(CALLS) + len(AIMED) >= 300


def refused_in_one_line(result: Run, what: object) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code == 2, (what, result.code, result.err, result.out)
    assert len(lines) == 1 and lines[0].startswith("agentdeck: error: "), (what, result.err)
    assert "internal error" not in lines[0] and "Traceback" not in result.err, (what, lines[0])
    return lines[0]


@pytest.mark.parametrize("text", FLEETS, ids=[f"fleet{i}" for i in range(len(FLEETS))])
def test_a_hostile_fleet_file_is_refused_in_one_line(corpus_repo: Path, text: str, cli) -> None:
    path = corpus_repo / "hostile.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    refused_in_one_line(cli("up", "--no-start", "-f", str(path), cwd=corpus_repo), text)
    nothing_made(corpus_repo)


@pytest.mark.parametrize(("text", "reason"), AIMED, ids=[f"aimed{i}" for i in range(len(AIMED))])
def test_a_validation_gap_is_refused_for_its_reason(corpus_repo: Path, text: str, reason: str,
                                                    cli) -> None:
    path = corpus_repo / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    line = refused_in_one_line(cli("up", "--no-start", "-f", str(path), cwd=corpus_repo), text)
    assert reason in line, (text, line)
    assert "hostile.yaml:" in line or reason in ("only in case",), line  # file:line named
    nothing_made(corpus_repo)


@pytest.mark.parametrize("args", CALLS, ids=[" ".join(c) for c in CALLS])
def test_a_hostile_call_is_refused_in_one_line(corpus_repo: Path, args: tuple[str, ...],
                                                 cli) -> None:
    refused_in_one_line(cli(*args, cwd=corpus_repo), args)
    nothing_made(corpus_repo)
