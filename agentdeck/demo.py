"""`agentdeck demo`: a throwaway repository with a lead and three workers, no API key needed.

It makes a small app with an `origin`, a `.env` and a SQLite database, writes a fleet file, and
runs `up` on it, so every isolation step can be seen (and then tried by hand) in one minute. Its
agents then run as real use runs them, in the repository's session host: `agentdeck logs`
reads them, and after quitting, `agentdeck` in the demo's repository shows them again.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import textwrap
from pathlib import Path

from agentdeck.core.engine.engine import Engine
from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.files import private_dir, write_private
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo, run_git

DEMO_MARK = "demo.json"  # in the demo repository's registry folder: where the demo is

APP = '''\
"""A tiny shop: serves on $PORT and keeps data in $DATABASE_URL."""
import os
import sqlite3
from http.server import BaseHTTPRequestHandler, HTTPServer


def database():
    return sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        count = database().execute("SELECT count(*) FROM products").fetchone()[0]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(f"{count} products\\n".encode())


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(os.environ.get("PORT", 3000))), Handler).serve_forever()
'''

SETUP = '''\
"""Demo setup step: what `npm install` or `pip install -r ...` would be in a real project."""
import compileall
import os
import sys
import time

print(f"preparing worktree for PORT={os.environ['PORT']}", flush=True)
for step in ("resolving dependencies", "fetching packages", "linking", "compiling"):
    print(step + " ...", flush=True)
    time.sleep(0.3)
ok = compileall.compile_dir("src", quiet=1)
print("ready" if ok else "compile failed", flush=True)
sys.exit(0 if ok else 1)
'''

FLEET = '''\
# The demo fleet: a lead in the main worktree and three workers, each with its own
# worktree, branch, port and SQLite copy. The workers run agentdeck's scripted agents,
# which look and ask like Claude Code, Codex CLI and Aider. See sample_fleet.yaml.
version: 1
base: origin/main
worktrees: ../{{repo}}-{{name}}
commands:
  claude: "{python} -m agentdeck.demo_agents.agent --style claude --task {{task}}"
  codex: "{python} -m agentdeck.demo_agents.agent --style codex --task {{task}}"
  aider: "{python} -m agentdeck.demo_agents.agent --style aider --task {{task}}"
defaults:
  agent: shell
  setup: ["{python} scripts/setup_worktree.py"]
  env_copy: [.env]
  ports: {{start: 3001, vars: [PORT, VITE_PORT]}}
  database: {{mode: sqlite, path: data/shop.sqlite3}}
agents:
  - {{name: lead, role: lead, branch: main, setup: []}}
  - name: auth
    agent: claude
    branch: feat/auth
    task: Implement JWT authentication endpoints in src/auth/.
    forbid: [src/types/]
  - name: payments
    agent: codex
    branch: feat/payments
    task: Implement the payment flow in src/payments/.
    forbid: [src/types/]
  - name: search
    agent: aider
    branch: feat/search
    task: Implement search indexing in src/search/.
    forbid: [src/types/]
'''


def _git(cwd: Path, *args: str) -> None:
    result = run_git(cwd, *args)
    if result.returncode != 0:
        raise OperationError(f"git {args[0]} failed: {result.stderr.strip()}")


def make_demo_repo(root: Path) -> Path:
    """origin.git plus a clone `shop` with an untracked .env and database."""
    origin, clone = root / "origin.git", root / "shop"
    _git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    _git(root, "clone", "--quiet", str(origin), str(clone))
    for rel, text in {
        "src/app.py": APP,
        "src/types/__init__.py": '"""Shared types: the lead owns these."""\n',
        "scripts/setup_worktree.py": SETUP,
        ".gitignore": ".env\n__pycache__/\ndata/*.sqlite3\n",
        "README.md": "# shop\n\nA demo app for agentdeck.\n",
    }.items():
        path = clone / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    ident = ["-c", "user.name=agentdeck demo", "-c", "user.email=demo@agentdeck.invalid"]
    _git(clone, "add", ".")
    _git(clone, *ident, "commit", "--quiet", "-m", "shop: first version")
    _git(clone, "push", "--quiet", "origin", "HEAD:main")
    _git(clone, "remote", "set-head", "origin", "main")
    (clone / ".env").write_text("SECRET_KEY=demo-not-secret\nSHOP_NAME=Demo Shop\n")
    (clone / "data").mkdir()
    with sqlite3.connect(clone / "data" / "shop.sqlite3") as db:
        db.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO products (name) VALUES (?)", [("tea",), ("mug",), ("pot",)])
    (clone / "agentdeck.yaml").write_text(FLEET.format(python=sys.executable), encoding="utf-8")
    _git(clone, "config", "user.name", "agentdeck demo")
    _git(clone, "config", "user.email", "demo@agentdeck.invalid")
    _git(clone, "add", "agentdeck.yaml")
    _git(clone, "commit", "--quiet", "-m", "Add the agentdeck fleet")
    return clone


def run_demo(where: Path | None, ui: bool = False, theme: str | None = None) -> int:
    from agentdeck.commands.context import notify
    from agentdeck.commands.workspaces import report_up
    from agentdeck.progress import SetupProgress

    if where is None:
        root = Path(tempfile.mkdtemp(prefix="agentdeck-demo-"))
    else:
        root = where.resolve()
        if root.exists() and any(root.iterdir()):
            raise UsageError(f"{root} is not empty; give the demo an empty or new folder")
        root.mkdir(parents=True, exist_ok=True)
    clone = make_demo_repo(root)
    print(f"agentdeck demo: a throwaway repository in {clone}")
    print("  a lead (a shell in the main worktree) and three scripted workers that look and ask")
    print("  like Claude Code (auth), Codex CLI (payments) and Aider (search), each with its own")
    print("  branch, worktree, port, .env copy, .env.local and SQLite database copy.\n")
    ctx = open_repo(clone)
    private_dir(ctx.state_dir)
    write_private(ctx.state_dir / DEMO_MARK, json.dumps({"root": str(root), "repo": str(clone)}))
    fleet = load_fleet(clone / "agentdeck.yaml")
    engine = Engine(ctx, fleet, notify=notify, on_setup=SetupProgress())
    status = report_up(engine, engine.up(), started=ui)
    if ui and status == 0:
        from agentdeck.commands.dashboard import open_dashboard

        # as real use runs: the agents in the session host, so `agentdeck logs` reads them
        # and quitting leaves them running, to be seen again with `agentdeck` there
        # (which says where the demo lives once it quits: it covered what was said above)
        return open_dashboard(ctx, fleet, theme)
    print(textwrap.dedent(f"""
        Try it by hand:
          cd {clone}
          cat ../shop-auth/.env.local          # PORT, DATABASE_URL, COMPOSE_PROJECT_NAME
          git worktree list                    # one worktree per agent
          agentdeck ls --json
          agentdeck spawn docs --branch feat/docs --task "Write the API docs"
          agentdeck rm payments --delete-branch
        Remove everything with: rm -rf {root}"""))
    return status


def where_it_lives(state_dir: Path) -> str | None:
    """Where the demo of this repository (`state_dir` is its registry folder) is and how to get
    back to it or remove it; None for a repository that is not a demo."""
    try:
        mark = json.loads((state_dir / DEMO_MARK).read_text())
        root, repo = Path(mark["root"]), Path(mark["repo"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (f"agentdeck demo: it lives in {repo}, its agents in that repository's session "
            f"host.\n  cd {repo}\n"
            "  agentdeck                the same agents, screens and prompts again\n"
            "  agentdeck logs auth      what an agent printed\n"
            f"  agentdeck daemon stop    stops its agents; then rm -rf {root} removes it all")
