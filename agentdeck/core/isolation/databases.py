"""A database per agent, in one of five modes.

postgres-db      CREATE DATABASE <base>_<agent> [TEMPLATE <base>]
postgres-schema  CREATE SCHEMA agent_<agent>; DATABASE_URL carries options=-csearch_path=…
sqlite           a consistent copy (sqlite backup API) of the main worktree's file
compose          a compose override with host ports offset per agent and its own project name
none             nothing

Every identifier is sanitised and then quoted. Creation refuses to adopt an object agentdeck did
not make; the caller records `created` before calling create (write-ahead) so that a rerun after
a crash adopts what the crashed run made.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from agentdeck.core.errors import OperationError, UsageError, require_extra
from agentdeck.core.files import open_under, remove_under, stat_under, write_under
from agentdeck.core.fleet.dbnames import PgUrl, compose_project, sanitize_identifier
from agentdeck.core.fleet.registry import DatabaseRecord
from agentdeck.core.fleet.spec import DatabaseSpec
from agentdeck.core.fleet.views import describe_database
from agentdeck.core.isolation import compose
from agentdeck.core.isolation.pg import admin, connect


@dataclass
class DbPlan:
    record: DatabaseRecord | None
    env: dict[str, str] = field(default_factory=dict)  # DATABASE_URL and friends
    url: str | None = None  # full URL (may hold a password): never stored
    ignore: list[str] = field(default_factory=list)  # files written into the worktree
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # worktree-relative path -> text to write
    compose: tuple[str, str] | None = None  # (base file, override file)
    owned: bool = True  # False: the agent uses something that is not its own (never dropped)


def plan(spec: DatabaseSpec, *, repo_name: str, agent: str, worktree: Path, slot: int,
         in_main: bool = False) -> DbPlan:
    if spec.mode == "none":
        return DbPlan(record=None)
    if spec.mode == "postgres-db":
        base = PgUrl(spec.url or "")
        name = sanitize_identifier(f"{base.dbname}_{agent}")
        url = base.with_dbname(name)
        return DbPlan(DatabaseRecord("postgres-db", name, url.redacted(), host=base.where),
                      {"DATABASE_URL": url.raw}, url.raw)
    if spec.mode == "postgres-schema":
        base = PgUrl(spec.url or "")
        schema = sanitize_identifier(f"agent_{agent}")
        url = base.with_search_path(schema)
        return DbPlan(DatabaseRecord("postgres-schema", schema, url.redacted(), host=base.where),
                      {"DATABASE_URL": url.raw, "DB_SCHEMA": schema}, url.raw)
    if spec.mode == "sqlite":
        target = worktree / (spec.path or "")
        # A lead in the main worktree works on main's own file: nothing to copy, nothing to drop.
        return DbPlan(DatabaseRecord("sqlite", str(target), f"sqlite:///{target}"),
                      {"DATABASE_URL": f"sqlite:///{target}"},
                      ignore=[] if in_main else [spec.path or ""], owned=not in_main)
    if spec.mode == "compose":
        return _plan_compose(spec, repo_name, agent, worktree, slot)
    raise UsageError(f"unknown database mode {spec.mode}")


def create(plan_: DbPlan, spec: DatabaseSpec, *, main_root: Path, worktree: Path,
           adopt: bool) -> list[str]:
    """Make the database; `adopt` allows an existing one (made by an interrupted run)."""
    record = plan_.record
    if record is None:
        return []
    if record.mode == "postgres-db":
        return _create_pg_database(plan_, spec, adopt)
    if record.mode == "postgres-schema":
        return _create_pg_schema(plan_, spec, adopt)
    if record.mode == "sqlite":
        if not plan_.owned:
            return [f"uses the main worktree's own {spec.path}"]
        return _copy_sqlite(main_root, worktree, spec.path or "")
    if record.mode == "compose":
        return _compose_up(plan_, worktree)
    return []


def drop(record: DatabaseRecord, url: str | None, worktree: Path) -> str:
    """Drop what `create` made; returns what was done, for the user."""
    if not record.created:
        return f"{describe_database(record)} was not made by agentdeck: left in place"
    if record.mode == "postgres-db":
        target = PgUrl(url or record.url)
        with admin(target) as conn:
            from psycopg import sql

            force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(record.name))
                         + force)
        return f"dropped database {record.name} on {target.where}"
    if record.mode == "postgres-schema":
        target = PgUrl(url or record.url)
        with connect(target) as conn:
            from psycopg import sql

            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(record.name)))
        return f"dropped schema {record.name} in {target.dbname} on {target.where}"
    if record.mode == "sqlite":
        file = Path(record.name)
        if worktree in file.parents:  # not through a folder the agent swapped for a link
            remove_under(worktree, file.relative_to(worktree))
        else:
            file.unlink(missing_ok=True)
        return f"deleted {record.name}"
    if record.mode == "compose":
        if not compose.docker_engine_answers():
            return (f"docker engine not running: run `docker compose -p {record.name} down -v` "
                    "when it is")
        compose.run(["docker", "compose", "-p", record.name, "down", "-v"], worktree)
        return f"removed compose project {record.name} and its volumes"
    return ""


def leftover_hint(record: DatabaseRecord) -> str:
    """How to drop a database agentdeck leaves in place."""
    if record.mode == "postgres-db":
        return f"database {record.name} on {record.host} left in place (dropdb {record.name})"
    if record.mode == "postgres-schema":
        return (f"schema {record.name} on {record.host} left in place "
                f"(DROP SCHEMA {record.name} CASCADE)")
    if record.mode == "compose":
        return f"compose project {record.name} left in place (docker compose -p {record.name} down)"
    return f"{describe_database(record)} left in place"


# -- postgres -----------------------------------------------------------------------------------


def _already_there(conn: Any, query: str, name: str, what: str, where: str, adopt: bool) -> bool:
    """True when an earlier run of ours made it (resume keeps it); someone else's is an error,
    because adopting it would later let `rm --drop-db` drop data agentdeck never owned."""
    if not conn.execute(query, (name,)).fetchone():
        return False
    if adopt:
        return True
    raise UsageError(f"{what} already exists {where} and agentdeck did not create it; drop it or "
                     "rename the agent")


def _create_pg_database(plan_: DbPlan, spec: DatabaseSpec, adopt: bool) -> list[str]:
    require_extra("postgres")  # (said before the worktree is made: provision.make_plan)
    import psycopg
    from psycopg import sql

    assert plan_.record is not None
    base = PgUrl(spec.url or "")
    name = plan_.record.name
    with admin(base) as conn:
        if _already_there(conn, "SELECT 1 FROM pg_database WHERE datname = %s", name,
                          f"database {name}", f"on {base.where}", adopt):
            return [f"database {name} already made by an earlier run: kept"]
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if spec.template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(base.dbname))
        try:
            conn.execute(statement)
        except psycopg.errors.ObjectInUse:
            raise OperationError(f"cannot clone {base.dbname} on {base.where}: other sessions are "
                                 "connected to it (PostgreSQL copies a template only when it is "
                                 "idle); close them or set database.template: false") from None
        except psycopg.errors.InvalidCatalogName:
            raise UsageError(f"base database {base.dbname} does not exist on {base.where}; create "
                             "it or fix database.url") from None
        except psycopg.Error as exc:
            raise OperationError(f"CREATE DATABASE {name} on {base.where} failed: "
                                 f"{_pg_message(exc)}") from None
    how = f" from template {base.dbname}" if spec.template else ""
    return [f"created database {name}{how}"]


def _create_pg_schema(plan_: DbPlan, spec: DatabaseSpec, adopt: bool) -> list[str]:
    require_extra("postgres")  # (said before the worktree is made: provision.make_plan)
    import psycopg
    from psycopg import sql

    assert plan_.record is not None
    base = PgUrl(spec.url or "")
    schema = plan_.record.name
    with connect(base) as conn:
        if _already_there(conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", schema,
                          f"schema {schema}", f"in {base.dbname} on {base.where}", adopt):
            return [f"schema {schema} already made by an earlier run: kept"]
        try:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        except psycopg.Error as exc:
            raise OperationError(f"CREATE SCHEMA {schema} in {base.dbname} failed: "
                                 f"{_pg_message(exc)}") from None
    return [f"created schema {schema} in {base.dbname}"]


def _pg_message(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


# -- sqlite -------------------------------------------------------------------------------------


def _copy_sqlite(main_root: Path, worktree: Path, rel: str) -> list[str]:
    # Neither side through a link: a branch could commit the target (or a folder on its way) as
    # a link to any file of the user's, which sqlite would then overwrite with the database.
    if stat_under(worktree, rel, "copy the database into") is not None:
        return [f"{Path(rel).name} is already in the worktree (it is tracked): kept"]
    source, found = main_root / rel, stat_under(main_root, rel, "copy the database")
    if found is None:
        return [f"{source} does not exist in the main worktree: the agent starts without one"]
    # The snapshot is made in a folder of our own (fresh, private, on the worktree's disk) and
    # then written to its place by write_under, which follows no link.
    with tempfile.TemporaryDirectory(prefix=".agentdeck-sqlite-", dir=worktree) as tmp:
        snapshot, note = Path(tmp) / "copy.sqlite", "a sqlite snapshot"
        try:
            # The backup API copies a consistent snapshot even while another process writes.
            with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                    closing(sqlite3.connect(snapshot)) as dst:
                src.backup(dst)
            handle: IO[bytes] | None = snapshot.open("rb")
        except sqlite3.DatabaseError:
            # not a database sqlite can read (or locked exclusively): a byte copy is the best
            handle, note = open_under(main_root, rel, "copy the database"), "byte for byte"
        if handle is None:
            return [f"{source} does not exist in the main worktree: the agent starts without one"]
        with handle:
            write_under(worktree, rel, handle, mode=found.st_mode & 0o777, replace=False,
                        action="copy the database into")
    return [f"copied {source.name} ({note})"]


def _plan_compose(spec: DatabaseSpec, repo_name: str, agent: str, worktree: Path,
                  slot: int) -> DbPlan:
    base_name = compose.find_compose_file(worktree, spec.file)
    if base_name is None:
        wanted = spec.file or " / ".join(compose.COMPOSE_FILES)
        raise UsageError(f"database mode compose: no {wanted} in the branch; add one or set "
                         "database.file")
    base = compose.load(worktree / base_name)
    project = compose_project(repo_name, agent)
    document, mapping = compose.compose_override(base, slot, project)
    out_name = compose.override_name(base_name, worktree)
    env = {"COMPOSE_PROJECT_NAME": project, "COMPOSE_FILE": f"{base_name}:{out_name}"}
    url = None
    if spec.url:
        parsed = PgUrl(spec.url)
        port = mapping.get(parsed.port, parsed.port)
        netloc = re.sub(r":\d+$", "", parsed.parts.netloc) + f":{port}"
        url = parsed.parts._replace(netloc=netloc).geturl()
        env["DATABASE_URL"] = url
    text = compose.override_text(document)
    record = DatabaseRecord("compose", project, PgUrl(url).redacted() if url else "")
    shifts = ", ".join(f"{a}→{b}" for a, b in mapping.items()) or "no published ports"
    return DbPlan(record, env, url, ignore=[out_name], notes=[f"compose override {out_name}: "
                  f"{shifts}"], files={out_name: text}, compose=(base_name, out_name))


def _compose_up(plan_: DbPlan, worktree: Path) -> list[str]:
    assert plan_.record is not None and plan_.compose is not None
    base_name, out_name = plan_.compose
    for rel, text in plan_.files.items():
        write_under(worktree, rel, text, mode=0o644)  # docker compose reads it; no link followed
    notes = list(plan_.notes)
    if not compose.docker_engine_answers():
        notes.append(f"docker engine not running: run `docker compose up -d` in {worktree} "
                     "when it is (the override is picked up from COMPOSE_FILE / its name)")
        return notes
    compose.run(["docker", "compose", "-p", plan_.record.name, "-f", base_name, "-f", out_name,
                 "up", "-d"], worktree)
    notes.append(f"docker compose up -d: project {plan_.record.name} running")
    return notes
