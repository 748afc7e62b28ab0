"""A full disk under the registry: one line naming the file, nothing lost, and the next run
(once there is space) carries on. The registry folder is a 64 KiB tmpfs of its own, mounted in
a private mount namespace (unshare), so the machine's disks are never filled."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_repo, write_fleet

FLEET = "version: 1\ndefaults: {agent: shell}\nagents:\n  - {name: a, branch: feat/a}\n"


def _namespace() -> list[str]:
    """unshare's way into a mount namespace of our own: as root, or as a user mapped to root."""
    for way in (["unshare", "--mount"], ["unshare", "--user", "--map-root-user", "--mount"]):
        if subprocess.run([*way, "true"], capture_output=True).returncode == 0:
            return way
    raise AssertionError("neither `unshare --mount` nor a user namespace works here; this test "
                         "needs one of them (util-linux's unshare)")


def test_a_full_registry_disk_is_one_line_and_loses_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_fleet(repo, FLEET)
    state, out = repo / ".git" / "agentdeck", tmp_path / "out"
    state.mkdir()
    out.mkdir()
    cli = f"{shlex.quote(sys.executable)} -m agentdeck up --no-start"
    script = f"""
        set -u
        mount -t tmpfs -o size=64k tmpfs {state}
        {cli} > {out}/1.out 2> {out}/1.err; echo $? > {out}/1.code
        cp {state}/registry.json {out}/before.json
        printf '  - {{name: b, branch: feat/b}}\\n' >> agentdeck.yaml
        head -c 1000000 /dev/zero > {state}/filler 2>/dev/null
        {cli} > {out}/2.out 2> {out}/2.err; echo $? > {out}/2.code
        cp {state}/registry.json {out}/during.json
        ls -A {state} > {out}/files
        ls {tmp_path} > {out}/folders
        git worktree list --porcelain > {out}/worktrees
        rm {state}/filler
        {cli} > {out}/3.out 2> {out}/3.err; echo $? > {out}/3.code
        cp {state}/registry.json {out}/after.json
    """
    subprocess.run([*_namespace(), "sh", "-c", script], cwd=repo, check=True, timeout=120)

    def read(name: str) -> str:
        return (out / name).read_text()

    assert read("1.code").strip() == "0", read("1.err")
    assert read("2.code").strip() == "1", read("2.err")
    errors = [line for line in read("2.err").splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in read("2.err"), errors
    assert errors[0].startswith("agentdeck: error: ")
    assert f"cannot write {state / 'registry.json'}: no space left on device" in errors[0]
    assert "left as it was" in errors[0]
    # nothing lost: the registry is the one before, whole; no temporary file stays behind
    assert json.loads(read("during.json")) == json.loads(read("before.json"))
    assert sorted(read("files").split()) == ["filler", "registry.json", "registry.lock",
                                             "worktrees.lock"]
    assert "app-b" not in read("folders").split() and "feat/b" not in read("worktrees")
    # with space again, the same command carries on
    assert read("3.code").strip() == "0", read("3.err")
    assert set(json.loads(read("after.json"))["agents"]) == {"a", "b"}
    assert (tmp_path / "app-b" / "README.md").is_file()
