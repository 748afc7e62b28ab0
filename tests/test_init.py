"""`agentdeck init` writes a fleet file that loads, guesses only from what the repository holds
(base branch, lock files, a DATABASE_URL or a compose file — never copying a password), and
never overwrites one."""

from __future__ import annotations

from pathlib import Path

from agentdeck.core.fleet.schema import load_fleet
from tests.conftest import assert_one_line_error, make_repo, run_agentdeck


def test_init_guesses_from_the_repository_and_never_overwrites(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / ".env").write_text("DATABASE_URL=postgresql://bob:s3cret@db.local:5432/shop\n")
    (repo / "package-lock.json").write_text("{}\n")
    result = run_agentdeck("init", cwd=repo)
    assert result.code == 0, result
    text = (repo / "agentdeck.yaml").read_text()
    fleet = load_fleet(repo / "agentdeck.yaml")
    assert fleet.base == "origin/main"
    assert fleet.defaults.setup == ("npm ci",)
    assert fleet.defaults.env_copy == (".env",)
    assert fleet.defaults.database.mode == "postgres-schema"
    assert "s3cret" not in text and "db.local:5432/shop" in text
    assert [a.role for a in fleet.agents] == ["lead", "worker", "worker"]
    again = run_agentdeck("init", cwd=repo)
    assert_one_line_error(again, 2, "already exists")
    assert (repo / "agentdeck.yaml").read_text() == text


def test_init_in_a_bare_bones_repository_writes_no_database(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert run_agentdeck("init", cwd=repo).code == 0
    fleet = load_fleet(repo / "agentdeck.yaml")
    assert fleet.defaults.database.mode == "none" and fleet.defaults.setup == ()
    assert fleet.defaults.env_copy == (".env",)  # make_repo leaves an untracked .env
    (repo / "compose.yaml").write_text("services: {db: {image: postgres}}\n")
    (repo / "agentdeck.yaml").unlink()
    assert run_agentdeck("init", cwd=repo).code == 0
    assert load_fleet(repo / "agentdeck.yaml").defaults.database.mode == "compose"
