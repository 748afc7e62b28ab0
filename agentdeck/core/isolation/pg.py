"""PostgreSQL plumbing: URLs, identifiers, connections that fail with one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentdeck.core.errors import OperationError, require_extra
from agentdeck.core.fleet.dbnames import PgUrl

if TYPE_CHECKING:
    import psycopg

def _open(url: PgUrl, dbname: str | None) -> psycopg.Connection[Any]:
    require_extra("postgres")  # psycopg is the `postgres` extra: one line if it is missing
    import psycopg

    target = url.with_dbname(dbname) if dbname else url
    try:
        return psycopg.connect(target.raw, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = _reason(str(exc))
        raise OperationError(f"cannot reach PostgreSQL at {url.where} ({reason}); start the "
                             "server or fix database.url in the fleet file") from None


@contextmanager
def connect(url: PgUrl, dbname: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    conn = _open(url, dbname)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def admin(url: PgUrl) -> Iterator[psycopg.Connection[Any]]:
    """A connection for CREATE/DROP DATABASE: the `postgres` database, else the base one."""
    try:
        conn = _open(url, "postgres")
    except OperationError as exc:
        if "does not exist" not in str(exc):
            raise  # the server is down: asking again for another database won't help
        conn = _open(url, None)
    try:
        yield conn
    finally:
        conn.close()


def _reason(message: str) -> str:
    text = " ".join(message.split())
    for needle, short in (
        ("Connection refused", "connection refused"),
        ("timeout expired", "timed out"),
        ("No such file or directory", "no server socket"),
        ("could not translate host name", "unknown host"),
        ("password authentication failed", "password authentication failed"),
        ("does not exist", None),
    ):
        if needle in text:
            return short or text
    return text[:160]
