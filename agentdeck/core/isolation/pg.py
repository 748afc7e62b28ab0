"""PostgreSQL plumbing: URLs, identifiers, connections that fail with one clear line."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from agentdeck.core.errors import OperationError

if TYPE_CHECKING:
    import psycopg

MAX_IDENT = 63  # NAMEDATALEN - 1


@dataclass(frozen=True)
class PgUrl:
    raw: str

    @property
    def parts(self) -> Any:
        return urlsplit(self.raw)

    @property
    def host(self) -> str:
        params = dict(parse_qsl(self.parts.query))
        return self.parts.hostname or params.get("host") or "local socket"

    @property
    def port(self) -> int:
        params = dict(parse_qsl(self.parts.query))
        return self.parts.port or int(params.get("port", 5432))

    @property
    def dbname(self) -> str:
        name = unquote(self.parts.path.lstrip("/"))
        return name or unquote(self.parts.username or "") or "postgres"

    def with_dbname(self, name: str) -> PgUrl:
        return PgUrl(_unsplit(self.parts._replace(path="/" + quote(name, safe=""))))

    def with_search_path(self, schema: str) -> PgUrl:
        # libpq rejects a second raw '=' in a URI parameter: the inner one must be %3D.
        query = [(k, v) for k, v in parse_qsl(self.parts.query) if k != "options"]
        query.append(("options", f"-csearch_path={schema}"))
        return PgUrl(_unsplit(self.parts._replace(query=urlencode(query, quote_via=quote))))

    def redacted(self) -> str:
        parts = self.parts
        if parts.password is None:
            return self.raw
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _unsplit(parts: Any) -> str:
    """urlunsplit, keeping the `//` of a URL with no host (postgres:///db, the local socket):
    Python drops it for schemes it does not know, and libpq then reads no URL at all."""
    url = urlunsplit(parts)
    if not parts.netloc and not url.startswith(f"{parts.scheme}://"):
        url = f"{parts.scheme}://" + url.removeprefix(f"{parts.scheme}:")
    return url


def sanitize_identifier(text: str) -> str:
    """A lower-case identifier valid unquoted (we still quote it); long names get a hash tail."""
    ident = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "agent"
    if ident[0].isdigit():
        ident = "a_" + ident
    if len(ident) > MAX_IDENT:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        ident = ident[: MAX_IDENT - 9].rstrip("_") + "_" + digest
    return ident


def _open(url: PgUrl, dbname: str | None) -> psycopg.Connection[Any]:
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
