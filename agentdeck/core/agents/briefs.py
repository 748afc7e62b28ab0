"""What each agent is told about its job, and the lead's roster of workers.

A worker's brief carries its task and scope ("work only in src/auth/", "do not modify
src/types/", "run this worktree's tests and report"); the lead's carries the roster. They reach
each agent through its own mechanism — the fleet's command line uses `{brief}` (Claude Code's
`--append-system-prompt`), `{brief_file}` (Aider's `--read`) or `{prompt}` (brief and task as
the first message: Codex, Gemini) — and are written under the registry folder, never into the
worktree, so no tracked file changes. The roster file is rewritten as workers come, go and
change state; the lead's brief points at it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from agentdeck.core.files import private_dir, write_under
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.fleet.spec import Fleet

FOLDER = "briefs"
ROSTER = "roster.md"


def folder(state_dir: Path) -> Path:
    return state_dir / FOLDER


def brief_path(state_dir: Path, name: str) -> Path:
    return folder(state_dir) / f"{name}.md"


def roster_path(state_dir: Path) -> Path:
    return folder(state_dir) / ROSTER


def worker_brief(fleet: Fleet, rec: AgentRecord) -> str:
    spec = fleet.agent(rec.name)
    scope = list(spec.scope) if spec else []
    forbid = list(rec.forbid or (spec.forbid if spec else ()))
    lines = [f"You are {rec.name}, one of several coding agents working in parallel on this "
             "repository, each in its own git worktree and branch.",
             f"Your worktree is {rec.worktree}, on branch {rec.branch}; stay in it."]
    if rec.task:
        lines.append(f"Your task: {rec.task}")
    if scope:
        lines.append("Work only in: " + ", ".join(scope) + ".")
    if forbid:
        lines.append("Do not modify: " + ", ".join(forbid) + " (other agents own them).")
    lines.append("Run this worktree's tests before you report. When done, commit on your "
                 "branch and report what you changed and how you tested it.")
    return "\n".join(lines)


def lead_brief(rec: AgentRecord, roster_file: Path) -> str:
    return "\n".join([
        f"You are {rec.name}, the lead. Workers, each in its own worktree and branch, carry "
        "out bounded tasks; you plan, review their branches (git diff main...<branch>) and "
        "merge.",
        f"The roster of workers — each one's branch, state, task and scope — is kept in "
        f"{roster_file}, rewritten as workers come, go and change state; read it (again) "
        "before you assign or review work."])


def roster_text(records: Sequence[AgentRecord], states: Mapping[str, str],
                fleet: Fleet) -> str:
    rows = ["| worker | branch | state | task | scope |", "|---|---|---|---|---|"]
    for rec in records:
        if rec.role == "lead":
            continue
        spec = fleet.agent(rec.name)
        scope = ", ".join(spec.scope) if spec and spec.scope else "-"
        if rec.forbid:
            scope += " (not: " + ", ".join(rec.forbid) + ")"
        task = (rec.task or "-").replace("|", "/").replace("\n", " ")
        rows.append(f"| {rec.name} | {rec.branch} | {states.get(rec.name, 'stopped')} | "
                    f"{task} | {scope} |")
    if len(rows) == 2:
        rows.append("| (none yet) | | | | |")
    return "\n".join(rows)


def write(state_dir: Path, path: Path, text: str) -> Path:
    """0600, and through no link in the registry folder (an agent that could plant one there
    must not have agentdeck write where it points)."""
    write_under(private_dir(state_dir), path.relative_to(state_dir), text + "\n", mode=0o600)
    return path


def write_roster(state_dir: Path, fleet: Fleet, records: Sequence[AgentRecord],
                 states: Mapping[str, str]) -> None:
    """The roster file, when the fleet has a lead to read it."""
    if any(r.role == "lead" for r in records):
        write(state_dir, roster_path(state_dir), roster_text(records, states, fleet))


def brief_for(fleet: Fleet, rec: AgentRecord, state_dir: Path, records: Sequence[AgentRecord],
              states: Mapping[str, str]) -> tuple[str, Path]:
    """An agent's brief, written to its file: (text, path)."""
    if rec.role == "lead":
        write_roster(state_dir, fleet, records, states)  # there before the lead looks
        text = lead_brief(rec, roster_path(state_dir))
    else:
        text = worker_brief(fleet, rec)
    return text, write(state_dir, brief_path(state_dir, rec.name), text)
