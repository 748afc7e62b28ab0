"""`agentdeck pr`: push an agent's branch to the origin on GitHub and open a pull request (a
draft unless --ready), titled and described from its task and commits, linked to the issue its
task came from (`spawn --issue`). Through `gh`; merging it stays the forge's."""

from __future__ import annotations

import argparse

from agentdeck.commands.context import repo
from agentdeck.core.errors import OperationError, UsageError

TITLE_MAX = 72


def cmd_pr(args: argparse.Namespace) -> int:
    from agentdeck.core.agents.roster import ready_records
    from agentdeck.core.git import github, review

    ctx = repo()
    rec = next((r for r in ready_records(ctx.state_dir) if r.name == args.name), None)
    if rec is None:
        raise UsageError(f"no agent named {args.name} (agentdeck ls lists them)")
    if rec.host:
        raise UsageError(f"{rec.name} runs on {rec.host}: run `agentdeck pr {rec.name}` there")
    base = args.base or review.merge_target(ctx, rec)
    if base == rec.branch:
        raise UsageError(f"{rec.name} works on {base} itself: a pull request needs a branch of "
                         "its own (pass --base)")
    target = github.origin_repo(ctx)
    github.require_login(target)  # (before anything is pushed)
    commits = (ctx.git_try("log", "--format=%s", f"{review.base_of(ctx, rec)}.."
                           f"refs/heads/{rec.branch}") or "").splitlines()
    if not commits:
        raise OperationError(f"nothing to propose: {rec.branch} has no commit that {base} lacks")
    ctx.git("push", "--set-upstream", "origin", f"refs/heads/{rec.branch}:refs/heads/"
            f"{rec.branch}", env={"GIT_TERMINAL_PROMPT": "0"})
    print(f"{rec.name}: pushed {rec.branch} to origin")
    link = github.Links(ctx.state_dir).load().get(rec.name, {})
    task = (rec.task or "").strip()
    title = args.title or (task.splitlines()[0] if task else f"{rec.name}: {rec.branch}")
    if len(title) > TITLE_MAX:
        title = title[:TITLE_MAX - 1].rstrip() + "…"
    body = [task] if task else []
    body.append("Commits:\n" + "\n".join(f"- {c}" for c in reversed(commits)))
    if link.get("issue"):
        same = link.get("repo") in (None, target.spec)
        ref = f"#{link['issue']}" if same else f"{link['repo'].split('/', 1)[1]}#{link['issue']}"
        body.append(f"Closes {ref}")
    body.append(f"(Opened by agentdeck for agent {rec.name}, {rec.agent}.)")
    url = github.create_pr(target, rec.branch, base, title, "\n\n".join(body),
                           draft=not args.ready)
    github.Links(ctx.state_dir).update(rec.name, pr_url=url, pr_repo=target.spec)
    print(f"{rec.name}: opened {'a' if args.ready else 'a draft'} pull request into {base}: "
          f"{url}")
    return 0
