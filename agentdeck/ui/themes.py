"""Themes are files: the shipped ones in the package's `themes/` folder (the repository's
top-level `themes/`), the user's own in ~/.config/agentdeck/themes/ ($XDG_CONFIG_HOME), one
NAME.yaml each: Textual's theme colours plus `diff`, the Pygments style diffs are drawn with.
A user's file may replace a shipped theme of the same name. A broken file is reported and
skipped, never fatal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from textual.theme import Theme

from agentdeck.core.fleet.options import SHIPPED_THEMES as SHIPPED
from agentdeck.core.fleet.options import user_themes_dir

DEFAULT_THEME = "agentdeck-dark"
COLOURS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground",
           "background", "surface", "panel", "boost")
DEFAULT_DIFF = {True: "monokai", False: "friendly"}  # by `dark`, for a file that names none


@dataclass
class Themes:
    themes: dict[str, Theme] = field(default_factory=dict)
    diff: dict[str, str] = field(default_factory=dict)  # theme name -> Pygments style
    problems: list[str] = field(default_factory=list)

    def diff_style(self, theme: str, dark: bool) -> str:
        return self.diff.get(theme, DEFAULT_DIFF[dark])


def _read(path: Path) -> tuple[Theme, str | None]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("expected 'key: value' lines")
    name = str(data.get("name") or path.stem)
    unknown = set(data) - {"name", "dark", "diff", "variables", *COLOURS}
    if unknown:
        raise ValueError(f"unknown keys {', '.join(sorted(map(str, unknown)))} (known: name, "
                         f"dark, diff, variables, {', '.join(COLOURS)})")
    if "primary" not in data:
        raise ValueError("a theme needs at least 'primary'")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise ValueError("'variables' maps CSS variable names to values")

    def colour(key: str) -> str | None:
        return str(data[key]) if key in data else None

    theme = Theme(name=name, primary=str(data["primary"]), secondary=colour("secondary"),
                  accent=colour("accent"), warning=colour("warning"), error=colour("error"),
                  success=colour("success"), foreground=colour("foreground"),
                  background=colour("background"), surface=colour("surface"),
                  panel=colour("panel"), boost=colour("boost"), dark=bool(data.get("dark", True)),
                  variables={str(k): str(v) for k, v in variables.items()})
    return theme, (str(data["diff"]) if data.get("diff") else None)


def load_themes(user_dir: Path | None = None) -> Themes:
    out = Themes()
    for folder in (SHIPPED, user_dir or user_themes_dir()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            try:
                theme, diff = _read(path)
                # a colour Textual cannot parse fails here, not when the theme is chosen
                theme.to_color_system()
            except (OSError, ValueError, yaml.YAMLError, TypeError) as exc:
                out.problems.append(f"theme {path}: {exc}; skipped")
                continue
            out.themes[theme.name] = theme
            if diff:
                out.diff[theme.name] = diff
    return out


def check_theme(name: str, themes: Themes | None = None) -> None:
    """A usage error unless `name` is a theme agentdeck ships, a user's theme file or one of
    Textual's own; `themes`: those already loaded (else the files are read)."""
    from textual.theme import BUILTIN_THEMES

    from agentdeck.core.errors import UsageError

    known = (themes or load_themes()).themes
    if name not in known and name not in BUILTIN_THEMES:
        raise UsageError(f"no theme named '{name}'; known: {', '.join(known)} (and Textual's "
                         f"own), or a file {name}.yaml in {user_themes_dir()}")
