"""A strict reader of a YAML document: each value checked as it is read, unknown keys rejected
with a did-you-mean, every error naming file:line:col and the key. The fleet schema
(`schema.py`) and the sections of `options.py` are written with it."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from agentdeck.core.errors import ConfigError
from agentdeck.core.yamlmarks import KeyPath, LocatedDocument

# \Z, not $: `$` matches before a trailing newline too ("A\n" would split a line of .env)
ENV_NAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_ENV_REF_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Reader:
    def __init__(self, doc: LocatedDocument, environ: Mapping[str, str]) -> None:
        self.doc = doc
        self.environ = environ

    # -- primitives ---------------------------------------------------------------------------

    def fail(self, path: KeyPath, message: str, value: bool = False) -> NoReturn:
        raise ConfigError(f"{self.doc.where(path, value)}: {message}")

    def bad_value(self, path: KeyPath, message: str) -> NoReturn:
        self.fail(path, message, value=True)

    def key_name(self, path: KeyPath) -> str:
        parts: list[str] = []
        for part in path:
            parts.append(f"[{part}]" if isinstance(part, int) else ("." if parts else "") + part)
        return "".join(parts) or "(top level)"

    def mapping(self, value: Any, path: KeyPath, allowed: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad_value(path, f"'{self.key_name(path)}' must be a mapping, "
                                 f"got {describe(value)}")
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                where = self.key_name((*path, key)) if isinstance(key, str) else repr(key)
                known = f" (known: {', '.join(allowed)})"
                suffix = f"; did you mean '{hint[0]}'?" if hint else known
                self.fail((*path, key), f"unknown key '{where}'{suffix}")
        return value

    def string(self, value: Any, path: KeyPath, *, choices: tuple[str, ...] = ()) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.bad_value(path, f"'{self.key_name(path)}' must be a string, got {describe(value)}")
        text = str(value)
        if choices and text not in choices:
            hint = difflib.get_close_matches(text, choices, n=1)
            extra = f"; did you mean '{hint[0]}'?" if hint else ""
            self.bad_value(path, f"'{self.key_name(path)}' must be one of {', '.join(choices)}, "
                            f"got '{text}'{extra}")
        return text

    def integer(self, value: Any, path: KeyPath, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad_value(path, f"'{self.key_name(path)}' must be an integer, "
                                 f"got {describe(value)}")
        if not low <= value <= high:
            self.bad_value(path, f"'{self.key_name(path)}' must be between {low} and {high}, "
                                 f"got {value}")
        return value

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            self.bad_value(path, f"'{self.key_name(path)}' must be true or false, "
                                 f"got {describe(value)}")
        return value

    def strings(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            self.bad_value(path, f"'{self.key_name(path)}' must be a list of strings, got "
                                 f"{describe(value)}")
        return tuple(self.string(item, (*path, i)) for i, item in enumerate(value))

    def env_names(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        names = self.strings(value, path)
        for i, name in enumerate(names):
            if not ENV_NAME_RE.match(name):
                self.fail((*path, i), f"'{name}' is not a valid environment variable name")
        return names

    def expand(self, text: str, path: KeyPath, uses: EnvUses) -> str:
        """${VAR} and ${VAR:-default} from the user's environment; $$ is a literal $. The names
        go to `uses`, and an unset one is recorded there instead of failing: only the commands
        that make or start that agent need its value (`ls`, `diff`, `daemon status` do not)."""
        names: list[str] = []
        unset: list[str] = []

        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            names.append(name)
            if name in self.environ and self.environ[name] != "":
                return self.environ[name]
            if default is not None:
                return default
            unset.append(name)
            return ""

        value = _ENV_REF_RE.sub(sub, text)
        key = ".".join(str(p) for p in path[-2:])  # env.API_KEY, database.url
        if unset:
            uses.unset[key] = (f"'{self.key_name(path)}' ({self.doc.where(path, True)}) uses "
                               f"${{{unset[0]}}}, which is not set in your environment; export "
                               f"it or write ${{{unset[0]}:-default}}")
        else:
            uses.unset.pop(key, None)  # an agent's own value replaces the defaults' one
        uses.refs[key] = tuple(names)
        return value

    def mapping_any(self, value: Any, path: KeyPath) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad_value(path, f"'{self.key_name(path)}' must be a mapping, "
                                 f"got {describe(value)}")
        return value


    def relpath(self, value: Any, path: KeyPath) -> str:
        text = self.string(value, path)
        # (a control character: a file name no one means, and a split line in info/exclude)
        if os.path.isabs(text) or ".." in Path(text).parts or not text.isprintable() or not text:
            self.fail(path, f"'{text}' must be a path inside the repository")
        if ".git" in (part.casefold() for part in Path(text).parts):  # .GIT is .git on macOS
            self.fail(path, f"'{text}' is inside .git, which is git's own; pick a path in the "
                            "working tree")
        return text

    def duration(self, value: Any, path: KeyPath, most: float = 3600) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
            if not match:
                self.bad_value(path, f"'{self.key_name(path)}' must be a duration like 5s, "
                                     f"500ms, 1m or 1h, got '{value}'")
            unit = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}[match.group(2)]
            seconds = float(match.group(1)) * unit
        if not 0 <= seconds <= most:  # (a NaN fails this too)
            self.fail(path, f"'{self.key_name(path)}' must be between 0 and {most / 3600:g}h")
        return seconds

    def size(self, value: Any, path: KeyPath) -> int:
        """A size in bytes: an integer, or a number with B, KB, MB or GB (powers of 1024)."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B)?\s*", str(value), re.IGNORECASE)
        if isinstance(value, bool) or not isinstance(value, str | int) or not match:
            self.bad_value(path, f"'{self.key_name(path)}' must be a size like 1MB, 512KB or "
                                 f"a number of bytes, got {describe(value)}")
        scale = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
        size = int(float(match.group(1)) * scale[(match.group(2) or "").upper()])
        if not 1 <= size <= 1 << 40:
            self.bad_value(path, f"'{self.key_name(path)}' must be between 1 byte and 1024GB")
        return size


@dataclass
class EnvUses:
    """What an agent's fields take from the user's environment, as they are read."""

    refs: dict[str, tuple[str, ...]]
    unset: dict[str, str]


def describe(value: Any) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
                              int: "an integer", float: "a number", type(None): "nothing"}
    text = names.get(type(value), type(value).__name__)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return f"{text} ({value!r})"
    return text
