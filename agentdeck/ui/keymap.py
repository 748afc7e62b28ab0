"""Rebinding the dashboard's keys: `dashboard.keys` in the fleet file, then the user's own
`~/.config/agentdeck/keymap.yaml` (or $AGENTDECK_KEYMAP), both mapping an action id to keys
("allow: Y", "deny: ctrl+n", "zoom: z,f11"). A mistake there is reported, never fatal."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml


def user_keymap_path() -> Path:
    explicit = os.environ.get("AGENTDECK_KEYMAP")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agentdeck" / "keymap.yaml"


def load_keymap(fleet_keys: Mapping[str, str], known: Iterable[str],
                path: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """The keymap to apply, and one line per problem found."""
    known = set(known)
    problems: list[str] = []
    merged = dict(fleet_keys)
    path = path or user_keymap_path()
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path}: not read ({exc}); using the default keys")
            data = {}
        if not isinstance(data, dict):
            problems.append(f"{path}: expected 'action: keys' lines; using the default keys")
            data = {}
        merged.update({str(k): str(v) for k, v in data.items()})
    keymap = {}
    for action, keys in merged.items():
        if action not in known:
            problems.append(f"keymap: no action '{action}' (actions: {', '.join(sorted(known))})")
        elif not keys.strip():
            problems.append(f"keymap: '{action}' has no keys")
        else:
            keymap[action] = keys
    return keymap, problems
