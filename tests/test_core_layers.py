"""`agentdeck/core/` is grouped by concern, and the groups stand in layers (STYLE.md): each
imports only the groups below it — function-level imports included, since an import moved into
a function to dodge a cycle is still a dependency. A newcomer finds "what decides whether a
prompt is queued" in `core/oversight/` and "everything about Codex" in `core/fleet/kinds.py`."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "agentdeck" / "core"
# bottom to top; "leaf" is the flat modules every group may use, "deck" ties the groups together
LAYERS = ["leaf", "screen", "fleet", "git", "isolation", "agents", "oversight", "engine", "deck"]
LEAF = {"__init__", "errors", "names", "files", "unixsock", "proctree", "hostlock", "yamlmarks",
        "listeners"}


def layer(module: str) -> str | None:
    """The layer of a dotted module name under agentdeck.core (None: not agentdeck.core)."""
    parts = module.split(".")
    if parts[:2] != ["agentdeck", "core"]:
        return None
    if len(parts) == 2 or parts[2] in LEAF:
        return "leaf"
    return parts[2]


def imported(source: str) -> list[tuple[int, str]]:
    """Every module `source` imports, wherever the import stands: (line, dotted name)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = ([f"{node.module}.{a.name}" for a in node.names]
                     if node.module == "agentdeck.core" else [node.module])
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def violations(sources: dict[str, str]) -> list[str]:
    """Imports of a higher layer, as "path:line: LOW imports HIGH (module)"; `sources` maps a
    path relative to agentdeck/core to its text."""
    out = []
    for rel, source in sorted(sources.items()):
        mine = layer("agentdeck.core." + rel.removesuffix(".py").replace("/", "."))
        assert mine in LAYERS, f"{rel}: in no layer ({mine}): add its group to LAYERS"
        for line, name in imported(source):
            theirs = layer(name)
            if theirs is not None and LAYERS.index(theirs) > LAYERS.index(mine):
                out.append(f"{rel}:{line}: {mine} imports {theirs} ({name})")
    return out


def core_sources() -> dict[str, str]:
    return {str(p.relative_to(CORE)): p.read_text(encoding="utf-8") for p in CORE.rglob("*.py")}


def test_each_group_of_core_imports_only_the_groups_below_it() -> None:
    assert violations(core_sources()) == []


def test_a_planted_upward_import_is_caught_even_inside_a_function() -> None:
    sources = core_sources()
    sources["fleet/schema.py"] += (
        "\n\ndef _planted() -> None:\n"
        "    from agentdeck.core.engine.engine import Engine  # noqa: F401\n")
    sources["screen/keys.py"] += "\nfrom agentdeck.core import deck  # noqa: F401\n"
    found = violations(sources)
    assert any(v.startswith("fleet/schema.py:") and "fleet imports engine" in v for v in found)
    assert any(v.startswith("screen/keys.py:") and "screen imports deck" in v for v in found)
    assert len(found) == 2, found


def test_core_has_its_groups_and_few_modules_beside_them() -> None:
    groups = sorted(p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert groups == sorted(set(LAYERS) - {"leaf", "deck"}), groups
    flat = sorted(p.stem for p in CORE.glob("*.py"))
    assert set(flat) <= LEAF | {"deck"} and len(flat) <= 10, flat


def test_no_module_is_over_450_lines() -> None:
    """A module that outgrew one job is split by what it holds (STYLE.md)."""
    root = Path(__file__).resolve().parent.parent / "agentdeck"
    long = {str(p.relative_to(root)): n for p in root.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, long
