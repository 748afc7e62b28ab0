"""Database modes on a real PostgreSQL cluster (started by the suite), SQLite and compose."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from agentdeck.core.fleet.dbnames import PgUrl, sanitize_identifier
from agentdeck.core.isolation.compose import compose_override, published_ports
from agentdeck.core.isolation.envfiles import read_env
from tests.conftest import (
    PgServer,
    assert_one_line_error,
    free_port,
    git,
    run_agentdeck,
    write_fleet,
)


def _fleet(database: str) -> str:
    return (f"defaults: {{agent: shell, ports: {{start: 4501}}, database: {database}}}\n"
            "agents:\n  - {name: auth, branch: feat/auth}\n"
            "  - {name: Pay-Team, branch: feat/pay}\n")


def _env(repo: Path, agent: str) -> dict[str, str]:
    return read_env(repo.parent / f"app-{agent}" / ".env.local")


def test_postgres_db_per_agent_cloned_from_template(repo: Path, cli, pg: PgServer,
                                                    pg_base: str) -> None:
    write_fleet(repo, _fleet(f"{{mode: postgres-db, url: '{pg.url(pg_base)}', template: true}}"))
    result = cli("up", cwd=repo)
    assert result.code == 0, result.err
    assert f"created database {pg_base}_auth from template {pg_base}" in result.out
    assert {f"{pg_base}_auth", f"{pg_base}_pay_team"} <= pg.databases()
    url = _env(repo, "auth")["DATABASE_URL"]
    assert url == pg.url(f"{pg_base}_auth")
    # the clone has the base's data, and the two agents' databases are separate
    pg.sql("INSERT INTO products VALUES (2, 'auth only')", dbname=f"{pg_base}_auth")
    assert pg.sql("SELECT count(*) FROM products", dbname=f"{pg_base}_pay_team") == [(1,)]
    row = json.loads(cli("ls", "--json", cwd=repo).out)[0]
    assert row["database"] == f"{pg_base}_auth@127.0.0.1:{pg.port}"
    # rm keeps the database unless asked; --drop-db drops it
    kept = cli("rm", "auth", cwd=repo)
    assert "left in place" in kept.out and f"{pg_base}_auth" in pg.databases()
    assert cli("rm", "Pay-Team", "--drop-db", cwd=repo).code == 0
    assert f"{pg_base}_pay_team" not in pg.databases()


def test_postgres_schema_lands_plain_libpq_clients_in_the_schema(repo: Path, cli, pg: PgServer,
                                                                 pg_base: str) -> None:
    write_fleet(repo, _fleet(f"{{mode: postgres-schema, url: '{pg.url(pg_base)}'}}"))
    assert cli("up", cwd=repo).code == 0
    url = _env(repo, "auth")["DATABASE_URL"]
    assert "options=-csearch_path%3Dagent_auth" in url
    schemas = {r[0] for r in pg.sql("SELECT nspname FROM pg_namespace", dbname=pg_base)}
    assert {"agent_auth", "agent_pay_team"} <= schemas
    # psql, the plainest libpq client, lands in the agent's schema from the URL alone
    psql = shutil.which("psql")
    if psql:
        shown = subprocess.run([psql, url, "-XAtc", "SHOW search_path"], capture_output=True,
                               text=True, check=True).stdout.strip()
        assert shown == "agent_auth"
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE sessions (id int)")
    tables = pg.sql("SELECT table_schema FROM information_schema.tables "
                    "WHERE table_name = 'sessions'", dbname=pg_base)
    assert tables == [("agent_auth",)]
    assert cli("rm", "auth", "--drop-db", cwd=repo).code == 0
    schemas = {r[0] for r in pg.sql("SELECT nspname FROM pg_namespace", dbname=pg_base)}
    assert "agent_auth" not in schemas and "agent_pay_team" in schemas


def test_server_down_names_host_and_port_and_leaves_nothing(repo: Path) -> None:
    port = free_port()  # nothing listens here
    write_fleet(repo, _fleet(f"{{mode: postgres-db, url: 'postgresql://postgres@127.0.0.1:"
                             f"{port}/app'}}"))
    result = run_agentdeck("up", "auth", cwd=repo)
    assert_one_line_error(result, 1, f"cannot reach PostgreSQL at 127.0.0.1:{port}",
                          "connection refused")
    assert not (repo.parent / "app-auth").exists()
    assert git(repo, "branch", "--list", "feat/auth") == ""
    assert git(repo, "worktree", "list").count("\n") == 1
    assert json.loads(run_agentdeck("ls", "--json", cwd=repo).out) == []


def test_existing_database_not_made_by_agentdeck_is_not_adopted(repo: Path, pg: PgServer,
                                                                pg_base: str) -> None:
    pg.sql(f'CREATE DATABASE "{pg_base}_auth"')
    pg.sql("CREATE TABLE keep (x int)", dbname=f"{pg_base}_auth")
    write_fleet(repo, _fleet(f"{{mode: postgres-db, url: '{pg.url(pg_base)}'}}"))
    result = run_agentdeck("up", "auth", cwd=repo)
    assert_one_line_error(result, 2, f"database {pg_base}_auth already exists")
    assert pg.sql("SELECT count(*) FROM keep", dbname=f"{pg_base}_auth") == [(0,)]
    assert not (repo.parent / "app-auth").exists()


def test_identifiers_are_sanitised_and_quoted() -> None:
    assert sanitize_identifier("My App-Auth") == "my_app_auth"
    assert sanitize_identifier('x"; DROP DATABASE y; --') == "x_drop_database_y"
    assert sanitize_identifier("9lives") == "a_9lives"
    long = sanitize_identifier("a" * 100)
    assert len(long) == 63 and long != sanitize_identifier("a" * 99)
    url = PgUrl("postgres://u:secret@db.example:6543/shop?sslmode=disable")
    assert url.where == "db.example:6543" and url.dbname == "shop"
    assert url.with_dbname("shop_auth").raw == "postgres://u:secret@db.example:6543/shop_auth" \
                                               "?sslmode=disable"
    assert "secret" not in url.redacted()


def test_sqlite_copy_per_agent(repo: Path, cli) -> None:
    (repo / ".gitignore").write_text(".env\n*.sqlite3\n")
    with sqlite3.connect(repo / "dev.sqlite3") as db:
        db.execute("CREATE TABLE t (x int)")
        db.execute("INSERT INTO t VALUES (42)")
    write_fleet(repo, _fleet("{mode: sqlite, path: dev.sqlite3}"))
    assert cli("up", cwd=repo).code == 0
    copy = repo.parent / "app-auth" / "dev.sqlite3"
    assert _env(repo, "auth")["DATABASE_URL"] == f"sqlite:///{copy}"
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT x FROM t").fetchall() == [(42,)]
        db.execute("INSERT INTO t VALUES (1)")
    with sqlite3.connect(repo / "dev.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM t").fetchall() == [(1,)]
    assert git(repo.parent / "app-auth", "status", "--porcelain") == ""


COMPOSE = """\
services:
  db:
    image: postgres:16
    ports: ["5432:5432"]
    environment: {POSTGRES_DB: app}
  cache:
    image: redis:7
    ports:
      - "127.0.0.1:6379:6379"
      - target: 8001
        published: 8001
      - "9000"
  worker:
    image: app
"""


def test_compose_override_shifts_host_ports_per_agent(repo: Path, cli) -> None:
    (repo / "docker-compose.yml").write_text(COMPOSE)
    git(repo, "add", "docker-compose.yml")
    git(repo, "commit", "--quiet", "-m", "compose")
    git(repo, "push", "--quiet", "origin", "HEAD:main")
    write_fleet(repo, _fleet("{mode: compose, url: 'postgres://postgres@localhost:5432/app'}"))
    result = cli("up", cwd=repo, )
    assert result.code == 0, result.err
    overrides = {}
    for agent in ("auth", "Pay-Team"):
        wt = repo.parent / f"app-{agent}"
        text = (wt / "docker-compose.override.yml").read_text()
        assert "!override" in text  # replace the port list instead of appending to it
        overrides[agent] = yaml.load(text, Loader=_OverrideLoader)
        env = _env(repo, agent)
        assert env["COMPOSE_FILE"] == "docker-compose.yml:docker-compose.override.yml"
        assert env["COMPOSE_PROJECT_NAME"] == overrides[agent]["name"]
        assert git(wt, "status", "--porcelain") == ""
    auth, pay = overrides["auth"], overrides["Pay-Team"]
    assert auth["name"] == "app-auth" and pay["name"] == "app-pay-team"
    # span of published ports is 5432..8001: each agent shifts by a whole span
    span = 8001 - 5432 + 1
    assert auth["services"]["db"]["ports"] == [f"{5432 + span}:5432"]
    assert pay["services"]["db"]["ports"] == [f"{5432 + 2 * span}:5432"]
    assert auth["services"]["cache"]["ports"] == [f"127.0.0.1:{6379 + span}:6379",
                                                  f"{8001 + span}:8001", "9000"]
    assert "worker" not in auth["services"]
    all_ports = [p for o in overrides.values() for s in o["services"].values()
                 for p in s["ports"] if ":" in p]
    assert len(all_ports) == len(set(all_ports))
    assert _env(repo, "auth")["DATABASE_URL"] == f"postgres://postgres@localhost:{5432 + span}/app"
    if not shutil.which("docker") or "engine" not in result.out:
        assert "docker engine not running" in result.out


class _OverrideLoader(yaml.SafeLoader):
    pass


_OverrideLoader.add_constructor("!override", lambda loader, node: loader.construct_sequence(node))


def test_published_port_forms() -> None:
    svc = {"ports": ["3000:3000", "127.0.0.1:8080:80/udp", "9000", 5000,
                     "7000-7001:7000-7001", {"target": 80, "published": "8081"}]}
    assert published_ports(svc) == [("", 3000, 3000, "tcp"), ("127.0.0.1", 8080, 80, "udp"),
                                     ("", 7000, 7000, "tcp"), ("", 7001, 7001, "tcp"),
                                     ("", 8081, 80, "tcp")]
    doc, mapping = compose_override({"services": {"a": {"ports": ["5432:5432"]}}}, 3, "p")
    assert mapping == {5432: 5435} and doc["name"] == "p"


@pytest.mark.parametrize("mode", ["none"])
def test_no_database(repo: Path, cli, mode: str) -> None:
    write_fleet(repo, _fleet(mode))
    assert cli("up", cwd=repo).code == 0
    env = _env(repo, "auth")
    assert "DATABASE_URL" not in env and env["COMPOSE_PROJECT_NAME"] == "app-auth"
