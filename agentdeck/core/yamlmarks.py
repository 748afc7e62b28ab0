"""YAML loading that remembers where every key and value came from.

PyYAML's `safe_load` drops positions, so a schema error could only name a key, not a line. We
compose the node tree ourselves and keep a map from key path to (line, column), both 1-based.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentdeck.core.errors import ConfigError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    col: int


@dataclass
class LocatedDocument:
    """A parsed YAML document plus the position of every node, keyed by its path."""

    file: Path
    data: Any
    positions: dict[KeyPath, Position]  # of each key (of the item, in a list)
    value_positions: dict[KeyPath, Position]  # of each value

    def where(self, path: KeyPath, value: bool = False) -> str:
        """`file:line:col` of the key (or its value) at `path`, else of the nearest parent."""
        if value and path in self.value_positions:
            at = self.value_positions[path]
            return f"{self.file}:{at.line}:{at.col}"
        probe = path
        while probe not in self.positions and probe:
            probe = probe[:-1]
        pos = self.positions.get(probe)
        if pos is None:
            return str(self.file)
        return f"{self.file}:{pos.line}:{pos.col}"


MAX_BYTES = 1 << 20  # a fleet file is a page or two; a megabyte is not a fleet file
MAX_VALUES = 100_000  # values after aliases are expanded: an "alias bomb" stops here


def load_located(path: Path) -> LocatedDocument:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a device or a pipe would never end
            raise ConfigError(f"{path}: not a regular file; a fleet file is a YAML file")
        if info.st_size > MAX_BYTES:
            raise ConfigError(f"{path}: {info.st_size:,} bytes is too large for a fleet file "
                              f"(at most {MAX_BYTES:,})")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such fleet file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read fleet file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=_UntaggedLoader)
    except _TagRefused as exc:
        tag = exc.tag.replace("tag:yaml.org,2002:", "!!", 1)
        raise ConfigError(f"{path}:{exc.mark.line + 1}:{exc.mark.column + 1}: YAML tags "
                          f"({tag}) are not supported in a fleet file; write the plain "
                          "value") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a fleet file") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:  # (its text spans lines: the first says what)
        raise ConfigError(f"{path}: malformed YAML: {str(exc).splitlines()[0]}") from None
    positions: dict[KeyPath, Position] = {}
    values: dict[KeyPath, Position] = {}
    try:
        data = None if node is None else _convert(node, (), positions, values, path)
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a fleet file") from None
    return LocatedDocument(path, data, positions, values)


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: yaml.Node, path: KeyPath, positions: dict[KeyPath, Position],
             values: dict[KeyPath, Position], file: Path) -> Any:
    positions.setdefault(path, _mark(node))
    values[path] = _mark(node)
    if len(values) > MAX_VALUES:
        raise ConfigError(f"{file}: more than {MAX_VALUES:,} values once its YAML aliases are "
                          "expanded; a fleet file needs far fewer (an alias bomb?)")
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError(f"{file}:{_mark(key_node).line}: YAML merge keys (<<) are not "
                                  "supported")
            key = _scalar(key_node, file)
            key_path = (*path, key)
            if key in out:
                first = positions[key_path]
                raise ConfigError(
                    f"{file}:{_mark(key_node).line}:{_mark(key_node).col}: duplicate key '{key}' "
                    f"(first at line {first.line})"
                )
            positions[key_path] = _mark(key_node)
            out[key] = _convert(value_node, key_path, positions, values, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, index), positions, values, file)
            for index, item in enumerate(node.value)
        ]
    return _scalar(node, file)


def _scalar(node: yaml.Node, file: Path) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        # A mapping used as a key: let the schema reject it by type.
        return repr(node)
    try:
        return _LOADER.construct_object(node)
    except yaml.constructor.ConstructorError as exc:  # an implicit type with no constructor (=)
        raise ConfigError(f"{file}:{_mark(node).line}:{_mark(node).col}: a value YAML cannot "
                          f"read ({exc.problem}); quote it") from None


class _TagRefused(Exception):
    def __init__(self, tag: str, mark: yaml.Mark) -> None:
        super().__init__(tag)
        self.tag, self.mark = tag, mark


class _UntaggedLoader(yaml.SafeLoader):
    """Refuses every explicit tag (`!foo`, `!!python/name:`, `!!str`, `!`): a fleet file is
    plain data, and a tag would otherwise reach a constructor that does not exist (an internal
    error) or one that makes something other than the value written."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        tag = getattr(event, "tag", None)  # (an alias has none)
        if tag is not None:
            raise _TagRefused(tag, event.start_mark)
        node: yaml.Node | None = super().compose_node(parent, index)
        return node


_LOADER = yaml.SafeLoader("")
