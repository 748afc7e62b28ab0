"""`agentdeck init`: a commented agentdeck.yaml for the repository you are in.

What it can tell from the repository it writes, and says where it guessed: the base branch
(origin's default branch, else the current one), the agent CLIs on PATH (the first is the
default kind), the setup command its lock files suggest, and a database only where the
repository names one (a DATABASE_URL in an env file: a PostgreSQL schema per agent; a compose
file: a compose project per agent) — none otherwise. It never overwrites a file.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from agentdeck.core.errors import UsageError
from agentdeck.core.files import atomic_write
from agentdeck.core.fleet.kinds import CLIS
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.isolation.compose import COMPOSE_FILES

FLEET_NAME = "agentdeck.yaml"
# every key documented; shipped with agentdeck (the repository's top-level sample_fleet.yaml)
SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.yaml"
# lock file -> the install command a new worktree needs
SETUPS = (("pnpm-lock.yaml", "pnpm install --frozen-lockfile"), ("yarn.lock", "yarn install"),
          ("package-lock.json", "npm ci"), ("uv.lock", "uv sync"),
          ("poetry.lock", "poetry install"), ("Gemfile.lock", "bundle install"),
          ("go.sum", "go mod download"), ("Cargo.lock", "cargo fetch"))
_DB_URL = re.compile(r"^\s*(?:export\s+)?DATABASE_URL\s*=\s*['\"]?(postgres(?:ql)?://[^'\"\s]+)",
                     re.MULTILINE)


def guess_database(root: Path) -> tuple[str, str]:
    """(the fleet's database lines, why): PostgreSQL where an env file names one, compose
    where a compose file is, else none."""
    for name in (".env", ".env.example", ".env.sample", ".env.development"):
        path = root / name
        found = _DB_URL.search(path.read_text(errors="replace")) if path.is_file() else None
        if found:
            url = re.sub(r"//[^@/]*@", "//", found.group(1))  # never a password in the file
            return (f"  database:\n    mode: postgres-schema\n    url: {url}   # add ${{VAR}} "
                    "for a password, from your environment\n",
                    f"DATABASE_URL in {name}: a PostgreSQL schema per agent")
    compose = next((name for name in COMPOSE_FILES if (root / name).is_file()), None)
    if compose:
        return (f"  database:\n    mode: compose\n    file: {compose}\n",
                f"{compose}: a compose project per agent, host ports shifted")
    return ("  database: {mode: none}   # postgres-db | postgres-schema | sqlite | compose\n",
            "no database named in the repository: none")


def fleet_text(ctx: RepoContext) -> tuple[str, list[str]]:
    """The file's text, and what was guessed (one line each)."""
    base = wt.default_base(ctx)
    found = [kind for kind, cli in CLIS.items() if shutil.which(cli.executable)]
    kind = found[0] if found else "claude"
    setup = next((cmd for lock, cmd in SETUPS if (ctx.main_root / lock).is_file()), None)
    database, db_why = guess_database(ctx.main_root)
    copies = [n for n in (".env", ".env.local", ".envrc") if (ctx.main_root / n).is_file()
              and not ctx.git_ok("ls-files", "--error-unmatch", n, cwd=ctx.main_root)]
    notes = [f"base: {base}",
             f"agents: {kind}" + (f" (on PATH: {', '.join(found)})" if found
                                  else " (no agent CLI on PATH: install one, see `agentdeck "
                                  "doctor`)"),
             f"setup: {setup or 'none (no lock file found)'}", f"database: {db_why}"]
    workers = "\n".join(f"  - {{name: {name}, branch: agent/{name}, task: \"{task}\"}}"
                        for name, task in (("one", "Describe the first task here"),
                                           ("two", "Describe the second task here")))
    text = f"""# agentdeck fleet file for {ctx.name} (written by `agentdeck init`; edit freely).
# Every key there is, each one explained: {SAMPLE}
version: 1

# where new agent branches start
base: {base}

# one worktree per agent, beside this checkout
worktrees: ../{{repo}}-{{name}}

defaults:
  agent: {kind}{"" if found else "   # not found on PATH: install it, or pick another kind"}
  # commands each new worktree runs once, in parallel across agents
  setup: [{'"' + setup + '"' if setup else ''}]
  # untracked files each worktree gets a copy of (secrets, local config)
  env_copy: [{", ".join(copies)}]
  # a port per agent, written to .env.local as PORT
  ports: {{start: 3001, end: 3999, vars: [PORT]}}
{database}
agents:
  # a lead works in this checkout, on {base.split("/")[-1]}; workers each in their own worktree
  - {{name: lead, role: lead, branch: {base.split("/")[-1]}}}
{workers}
"""
    return text, notes


def cmd_init(args: argparse.Namespace) -> int:
    from agentdeck.commands.context import repo

    ctx = repo()
    path = ctx.main_root / FLEET_NAME
    if path.exists():
        raise UsageError(f"{path} already exists; agentdeck init never overwrites it (edit it, "
                         "or move it away first)")
    text, notes = fleet_text(ctx)
    atomic_write(path, text, mode=0o644)
    load_fleet(path)  # what it wrote must load: a bug here is ours, not the user's to find
    print(f"wrote {path}")
    for note in notes:
        print(f"  {note}")
    print("next: edit the agents' tasks, then `agentdeck up` makes their worktrees and opens "
          "the dashboard")
    return 0
