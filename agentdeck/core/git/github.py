"""Pull requests and issues where the origin is GitHub, through `gh` (the GitHub CLI users
already have, logged in): `pr` pushes an agent's branch and opens a pull request (a draft unless
asked otherwise) whose title and body come from its task and commits, linked to the issue its
task came from; `spawn --issue` takes an issue's text as the task; the dashboard shows each
pull request's state and checks. Merging stays the forge's.

GitHub is github.com, or the GitHub Enterprise host GH_HOST names (as `gh` itself takes it).
What agentdeck knows of each agent's issue and pull request is kept in the registry folder
(`github.json`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.files import atomic_write, locked
from agentdeck.core.git.repo import RepoContext

LINKS = "github.json"
GH_TIMEOUT = 60.0
_ISSUE_URL = re.compile(r"https?://([^/]+)/([^/]+)/([^/]+)/(?:issues|pull)/(\d+)/?")
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):([^/]+)/([^/]+?)(?:\.git)?/?$")  # git@host:o/r.git


@dataclass(frozen=True)
class GitHubRepo:
    host: str
    owner: str
    name: str

    @property
    def spec(self) -> str:
        """What `gh --repo` takes: HOST/OWNER/REPO."""
        return f"{self.host}/{self.owner}/{self.name}"


def github_hosts() -> set[str]:
    return {"github.com", *([os.environ["GH_HOST"].lower()] if os.environ.get("GH_HOST") else [])}


def parse_remote(url: str) -> GitHubRepo | None:
    """host/owner/repo of a remote's URL (https, ssh:// or scp-like), None when it is none."""
    parts = urlsplit(url)
    if parts.scheme in ("https", "http", "ssh", "git") and parts.hostname:
        bits = [b for b in parts.path.split("/") if b]
        if len(bits) == 2:
            host = parts.hostname + (f":{parts.port}" if parts.port else "")
            return GitHubRepo(host.lower(), bits[0], bits[1].removesuffix(".git"))
        return None
    m = _SCP.match(url)
    return GitHubRepo(m.group(1).lower(), m.group(2), m.group(3)) if m and "://" not in url \
        else None


def origin_repo(ctx: RepoContext) -> GitHubRepo:
    """The GitHub repository the origin is; else an error saying what is supported."""
    url = (ctx.git_try("config", "--get", "remote.origin.url") or "").strip()
    if not url:
        raise OperationError("this repository has no origin remote: pull requests go to the "
                             "origin on GitHub (github.com, or the host GH_HOST names)")
    found = parse_remote(url)
    if found is None or found.host not in github_hosts():
        raise OperationError(f"origin is {url}, not GitHub: `pr` opens pull requests on "
                             "github.com, or on the GitHub Enterprise host GH_HOST names, "
                             "through gh")
    return found


def gh(args: list[str], cwd: Path | None = None) -> str:
    """Run `gh` and return what it printed; its failure as one line."""
    program = shutil.which("gh")
    if program is None:
        raise OperationError("the GitHub CLI `gh` is not installed (`sudo apt install gh`, or "
                             "https://cli.github.com); agentdeck opens pull requests through it")
    env = {**os.environ, "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1",
           "NO_COLOR": "1", "GH_SPINNER_DISABLED": "1"}
    try:
        done = subprocess.run([program, *args], cwd=cwd, env=env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=GH_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OperationError(f"gh {args[0]} {args[1] if len(args) > 1 else ''} did not answer "
                             f"within {GH_TIMEOUT:g} s") from None
    if done.returncode != 0:
        said = next((line.strip() for line in (done.stderr or done.stdout).splitlines()
                     if line.strip()), f"exit status {done.returncode}")
        raise OperationError(f"gh {args[0]} {args[1] if len(args) > 1 else ''}: {said}")
    return done.stdout


def require_login(repo: GitHubRepo) -> None:
    """`gh` installed and logged in to the repository's host (else one line saying so)."""
    try:
        gh(["auth", "status", "--hostname", repo.host])
    except OperationError as exc:
        if "not installed" in str(exc):
            raise
        raise OperationError(f"gh is not logged in to {repo.host}: `gh auth login --hostname "
                             f"{repo.host}` (or set GH_TOKEN)") from None


def issue_ref(ctx: RepoContext, ref: str) -> tuple[GitHubRepo, int]:
    """`--issue 7` (the origin's) or `--issue https://github.com/o/r/issues/7`."""
    if ref.isdigit():
        return origin_repo(ctx), int(ref)
    m = _ISSUE_URL.fullmatch(ref.strip())
    if not m or m.group(1).lower() not in github_hosts():
        raise UsageError(f"--issue takes an issue number or a GitHub issue's URL, got '{ref}'")
    return GitHubRepo(m.group(1).lower(), m.group(2), m.group(3)), int(m.group(4))


def issue(repo: GitHubRepo, number: int) -> dict[str, Any]:
    require_login(repo)
    data = json.loads(gh(["issue", "view", str(number), "--repo", repo.spec, "--json",
                          "title,body,number,url"]))
    return data if isinstance(data, dict) else {}


def issue_task(found: dict[str, Any]) -> str:
    """An agent's task from an issue: the brief names the issue."""
    body = str(found.get("body") or "").strip()
    return (f"GitHub issue #{found.get('number')}: {found.get('title', '')}"
            + (f"\n\n{body}" if body else "") + f"\n\n({found.get('url', '')})")


def create_pr(repo: GitHubRepo, head: str, base: str, title: str, body: str,
              draft: bool = True) -> str:
    """Open the pull request; returns its URL."""
    require_login(repo)
    args = ["pr", "create", "--repo", repo.spec, "--head", head, "--base", base,
            "--title", title, "--body", body]
    out = gh([*args, "--draft"] if draft else args)
    return next((line.strip() for line in out.splitlines() if "://" in line), out.strip())


def pr_state(repo: GitHubRepo, head: str) -> dict[str, Any]:
    """{state, url, number, isDraft, checks: [{name, status}]} of the branch's pull request
    (`gh pr view --json`); a check's status is pass, fail, pending or skipped."""
    data = json.loads(gh(["pr", "view", head, "--repo", repo.spec, "--json",
                          "state,url,number,isDraft,title,statusCheckRollup"]))
    checks = []
    for item in data.get("statusCheckRollup") or []:
        name = item.get("name") or item.get("context") or "check"
        verdict = (item.get("conclusion") or item.get("state") or "").upper()
        status = ("pass" if verdict in ("SUCCESS", "NEUTRAL") else
                  "fail" if verdict in ("FAILURE", "ERROR", "TIMED_OUT", "CANCELLED",
                                        "ACTION_REQUIRED", "STARTUP_FAILURE") else
                  "skipped" if verdict == "SKIPPED" else "pending")
        checks.append({"name": name, "status": status, "url": item.get("detailsUrl")
                       or item.get("targetUrl") or ""})
    return {"state": data.get("state", ""), "url": data.get("url", ""),
            "number": data.get("number"), "isDraft": bool(data.get("isDraft")),
            "checks": checks}


_RUN = re.compile(r"/actions/runs/(\d+)")


def failed_log(repo_spec: str, url: str, lines: int = 60) -> str | None:
    """The end of a failed GitHub Actions check's log (`gh run view --log-failed`), from the
    check's link; None when it is not an Actions run or gh cannot say."""
    m = _RUN.search(url or "")
    if m is None or repo_spec.count("/") != 2:
        return None
    try:
        out = gh(["run", "view", m.group(1), "--log-failed", "--repo", repo_spec])
    except OperationError:
        return None
    return "\n".join(out.rstrip().splitlines()[-lines:]) or None


def merged_pulls(state_dir: Path, branches: dict[str, str]) -> dict[str, str]:
    """The agents (name -> branch given) whose pull request the forge says was merged: name ->
    its URL. Only agents with a pull request are asked about; gh missing or failing: none."""
    out = {}
    for name, link in Links(state_dir).load().items():
        spec = str(link.get("pr_repo") or "")
        if name not in branches or spec.count("/") != 2 or shutil.which("gh") is None:
            continue
        try:
            state = pr_state(GitHubRepo(*spec.split("/")), branches[name])
        except (OperationError, ValueError):
            continue
        if state.get("state") == "MERGED":
            out[name] = str(state.get("url") or link.get("pr_url") or "")
    return out


def pr_chip(state: dict[str, Any]) -> str:
    """The sidebar's: PR#3 draft ✖ci/test ✔lint."""
    label = "draft" if state.get("isDraft") and state.get("state") == "OPEN" else str(
        state.get("state", "")).lower()
    marks = {"pass": "✔", "fail": "✖", "pending": "…", "skipped": "~"}
    return " ".join([f"PR#{state.get('number')} {label}".strip(),
                     *(f"{marks.get(c['status'], '?')}{c['name']}" for c in state["checks"])])


class Links:
    """Each agent's issue and pull request: {agent: {issue, issue_url, pr, pr_url, repo}}."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / LINKS

    def load(self) -> dict[str, dict[str, Any]]:
        with self._locked():
            return self._read()

    def update(self, agent: str, **values: Any) -> None:
        with self._locked():
            data = self._read()
            data.setdefault(agent, {}).update(values)
            atomic_write(self.path, json.dumps(data, indent=2) + "\n", mode=0o600)

    def forget(self, agent: str) -> None:
        with self._locked():
            data = self._read()
            if data.pop(agent, None) is not None:
                atomic_write(self.path, json.dumps(data, indent=2) + "\n", mode=0o600)

    def _locked(self) -> AbstractContextManager[None]:
        return locked(self.dir / "github.lock")

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
