"""Checks (the fleet's `checks:`): run in each agent's worktree with its environment, on each
new commit of its branch without being asked (the Checker the dashboard's radar drives) or on
`agentdeck checks`; results in `checks --json` and `ls --json`, stale once the branch moves on;
a sandboxed agent's checks run inside its sandbox and write nothing outside its worktree."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentdeck.core.agents.roster import ready_records
from agentdeck.core.engine.check_results import CheckStore, branch_tip
from agentdeck.core.engine.checks import Checker
from agentdeck.core.errors import ConfigError
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from tests.conftest import Run, alive, commit, git, make_repo, requires, wait, write_fleet

# the repository's own test, which the fleet's check runs: src/calc.py must add
CHECK_ADD = ("import sys\nsys.path.insert(0, 'src')\nfrom calc import add\n"
             "assert add(2, 3) == 5, 'add(2, 3) gave %r' % add(2, 3)\nprint('add works')\n")
GOOD = "def add(a, b):\n    return a + b\n"
BAD = "def add(a, b):\n    return a - b\n"


def checked_repo(tmp_path: Path, agents: str, extra: str = "") -> Path:
    repo = make_repo(tmp_path, files={"check_add.py": CHECK_ADD})
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
checks:
  - {{name: tests, run: "{sys.executable} -B check_add.py"}}
{extra}agents:
{agents}""")
    return repo


def test_the_fleet_file_takes_checks_and_an_agents_changes(tmp_path: Path) -> None:
    repo = checked_repo(tmp_path, "  - {name: a, checks: [{name: tests, when: manual}, "
                        "{name: lint, run: 'true', timeout: 5s}]}\n  - {name: b}\n")
    fleet = load_fleet(repo / "agentdeck.yaml")
    [a_tests, lint] = fleet.checks_for("a")
    assert (a_tests.name, a_tests.on_commit, lint.name, lint.seconds) == ("tests", False,
                                                                          "lint", 5.0)
    assert a_tests.run == fleet.checks[0].run  # (its run is the fleet's)
    [b_tests] = fleet.checks_for("b")
    assert b_tests.on_commit and b_tests.seconds == 600.0
    for bad, words in (("checks: {tests: x}\n", "must be a list"),
                       ("checks: [{name: t}]\n", "needs 'run'"),
                       ("checks: [{name: t, run: x, when: never}]\n", "when"),
                       ("checks: [{name: t, run: x, timeot: 5s}]\n", "timeot"),
                       ("checks: [{name: t, run: x}]\nagents: [{name: a, checks: [{name: u}]}]\n",
                        "not one of the fleet's checks")):
        write_fleet(repo, "version: 1\n" + bad)
        with pytest.raises(ConfigError) as caught:
            load_fleet(repo / "agentdeck.yaml")
        assert words in str(caught.value) and "agentdeck.yaml:" in str(caught.value)


def test_checks_run_now_say_what_failed_and_go_stale(tmp_path: Path,
                                                     cli: Callable[..., Run]) -> None:
    repo = checked_repo(tmp_path, "  - {name: good, agent: shell}\n  - {name: bad, agent: shell}\n"
                        "  - {name: idle, agent: shell}\n",
                        extra=f"  - {{name: slow, run: \"{sys.executable} -c 'import time; "
                        "time.sleep(60)'\", timeout: 1s, when: manual}\n")
    assert cli("up", "--no-start", cwd=repo).code == 0
    commit(tmp_path / "wt-good", "src/calc.py", GOOD)
    commit(tmp_path / "wt-bad", "src/calc.py", BAD)

    ran = cli("checks", "good", "bad", "--check", "tests", "--json", cwd=repo)
    assert ran.code == 1, ran.err
    found = json.loads(ran.out)
    [good], [bad] = found["good"], found["bad"]
    tip = git(tmp_path / "wt-good", "rev-parse", "HEAD").strip()
    assert (good["name"], good["status"], good["commit"]) == ("tests", "pass", tip)
    assert "add works" in good["output_tail"] and good["seconds"] >= 0
    assert bad["status"] == "fail" and "add(2, 3) gave -1" in bad["output_tail"]

    said = cli("checks", "bad", "--check", "tests", cwd=repo)  # for people: the failure's end
    assert said.code == 1 and "bad: tests: fail" in said.out and "gave -1" in said.out

    slow = cli("checks", "good", "--check", "slow", "--json", cwd=repo)  # ended at its timeout
    assert slow.code == 1
    [timed] = json.loads(slow.out)["good"]
    assert timed["status"] == "fail" and "its timeout" in timed["output_tail"]

    listed = {a["name"]: a for a in json.loads(cli("ls", "--json", cwd=repo).out)}
    assert {c["name"]: c["status"] for c in listed["good"]["checks"]} == {"tests": "pass",
                                                                         "slow": "fail"}
    assert listed["idle"]["checks"] == []

    commit(tmp_path / "wt-good", "src/more.py", "x = 1\n")  # the branch moves on
    last = json.loads(cli("checks", "good", "--last", "--json", cwd=repo).out)
    assert {c["name"]: c["status"] for c in last["good"]} == {"tests": "stale", "slow": "stale"}

    none = cli("checks", "nobody", cwd=repo)
    assert none.code == 2 and "no agent named nobody" in none.err


def test_a_new_commit_is_checked_without_being_asked_once(tmp_path: Path,
                                                          cli: Callable[..., Run]) -> None:
    """The Checker (driven by the radar's change events in the dashboard) runs an agent's
    `when: commit` checks when its branch has a commit it has not judged; a branch with none of
    its own yet, and a commit judged already, cost nothing."""
    repo = checked_repo(tmp_path, "  - {name: good, agent: shell}\n  - {name: bad, agent: shell}\n")
    assert cli("up", "--no-start", cwd=repo).code == 0
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    store = CheckStore(ctx.state_dir)
    told: list[str] = []
    checker = Checker(ctx, fleet, lambda: ready_records(ctx.state_dir), told.append)
    try:
        checker.moved(None)  # nothing committed yet: nothing to judge
        commit(tmp_path / "wt-bad", "src/calc.py", BAD)
        checker.moved({"bad"})
        wait(lambda: store.of("bad").get("tests") and store.of("bad")["tests"].status == "fail",
             "bad's check to fail")
        assert "good" not in store.load()
        first = store.of("bad")["tests"]
        assert first.commit == branch_tip(ctx.common_dir, "agentdeck/bad")
        checker.moved({"bad"})  # judged already
        commit(tmp_path / "wt-bad", "src/calc.py", GOOD, "fix add")
        checker.moved(None)
        wait(lambda: store.of("bad")["tests"].status == "pass", "the fix to pass")
        assert store.of("bad")["tests"].commit == branch_tip(ctx.common_dir, "agentdeck/bad")
        assert told.count("bad") == 4  # started, ended; started, ended
    finally:
        checker.close()


PROBE = r"""
import os, subprocess, sys
main, other, outside, home = sys.argv[1:5]
def attempt(path):
    try:
        with open(path, "w") as fh:
            fh.write("x")
        return "written"
    except OSError as exc:
        return type(exc).__name__
found = {"main": attempt(os.path.join(main, "evil.txt")),
         "other": attempt(os.path.join(other, "evil.txt")),
         "outside": attempt(outside),
         "inside": attempt("inside.txt"),
         "branch": "moved" if subprocess.run(["git", "update-ref", "refs/heads/main", "HEAD"],
                                             capture_output=True).returncode == 0 else "refused",
         "sandboxed": os.environ.get("AGENTDECK_SANDBOX", ""),
         "port": os.environ.get("PORT", "")}
attempt(os.path.join(home, "agentdeck-check-evil.txt"))
print(found)
sys.exit(0 if "written" not in [found[k] for k in ("main", "other", "outside")]
         and found["branch"] == "refused" else 1)
"""


def test_a_sandboxed_agents_checks_run_in_its_sandbox(tmp_path: Path,
                                                      cli: Callable[..., Run]) -> None:
    requires("bubblewrap", None if shutil.which("bwrap") else "not installed (.ci/run installs it)")
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    outside = tmp_path / "outside.txt"
    repo = make_repo(tmp_path)
    run = f"{sys.executable} -B {probe} {repo} {tmp_path / 'wt-other'} {outside} \\\"$HOME\\\""
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
defaults: {{ports: {{start: 4301}}}}
checks:
  - {{name: fence, run: "{run}"}}
agents:
  - {{name: fenced, agent: shell, sandbox: bwrap}}
  - {{name: other, agent: shell}}
""")
    assert cli("up", "--no-start", cwd=repo).code == 0
    main_tip = git(repo, "rev-parse", "main").strip()
    commit(tmp_path / "wt-fenced", "src/x.py", "x = 1\n")
    ran = cli("checks", "fenced", "--json", cwd=repo)
    [result] = json.loads(ran.out)["fenced"]
    assert ran.code == 0 and result["status"] == "pass", result["output_tail"]
    said = result["output_tail"]
    assert "'sandboxed': 'bwrap'" in said and "'inside': 'written'" in said
    assert "'port': '43" in said  # its environment: its port
    assert (tmp_path / "wt-fenced" / "inside.txt").is_file()
    assert not (repo / "evil.txt").exists() and not (tmp_path / "wt-other" / "evil.txt").exists()
    assert not outside.exists() and not (Path.home() / "agentdeck-check-evil.txt").exists()
    assert git(repo, "rev-parse", "main").strip() == main_tip


def test_closing_the_checker_ends_its_checks_without_waiting(tmp_path: Path,
                                                             cli: Callable[..., Run]) -> None:
    """A dashboard that quits mid-check ends the check's whole tree, and its result says it was
    interrupted (stale), not failed."""

    pidfile, slow = tmp_path / "check.pid", tmp_path / "slow.py"
    slow.write_text("import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\n"
                    "time.sleep(120)\n")
    repo = make_repo(tmp_path)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
checks: [{{name: slow, run: "{sys.executable} {slow} {pidfile}"}}]
agents: [{{name: a, agent: shell}}]
""")
    assert cli("up", "--no-start", cwd=repo).code == 0
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    store = CheckStore(ctx.state_dir)
    checker = Checker(ctx, fleet, lambda: ready_records(ctx.state_dir))
    commit(tmp_path / "wt-a", "x.txt", "x\n")
    checker.moved(None)
    wait(lambda: pidfile.exists() and pidfile.read_text(), "the check to start")
    assert store.of("a")["slow"].shown() == "running"
    checker.close()
    pid = int(pidfile.read_text())
    wait(lambda: not alive(pid),
         "the check's process to end")
    wait(lambda: store.of("a")["slow"].status == "stale", "the result to say so")
    assert "interrupted" in store.of("a")["slow"].output_tail
