"""What each agent's database, schema or compose project is called: the fleet file's check that
two agents never share one reads it, and the isolation that makes them uses it. Naming only, no
connection (that is isolation/pg.py)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from agentdeck.core.fleet.spec import DatabaseSpec

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


def identifier(spec: DatabaseSpec, repo_name: str, agent: str) -> str | None:
    """The database, schema or compose project an agent gets in `spec`'s mode (None for
    modes that do not name one): two agents must never get the same."""
    if spec.mode == "postgres-db":
        return sanitize_identifier(f"{PgUrl(spec.url or '').dbname}_{agent}")
    if spec.mode == "postgres-schema":
        return sanitize_identifier(f"agent_{agent}")
    if spec.mode == "compose":
        return compose_project(repo_name, agent)
    return None


def compose_project(repo_name: str, agent: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", f"{repo_name}-{agent}".lower()).strip("-_")
    return name if name and name[0].isalnum() else "a" + name
