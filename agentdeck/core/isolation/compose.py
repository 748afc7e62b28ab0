"""The compose database mode's docker compose side: the compose file an agent's branch has, the
override that gives the agent its own project name and its host ports shifted by its slot (so
every agent's services run side by side), and the docker commands that start and remove it
(databases.py plans and records it like the other modes)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from agentdeck.core.errors import OperationError, UsageError

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


class _Override(list):
    """A list that compose must use instead of merging (`!override`, compose ≥ 2.24.4)."""


def _override_representer(dumper: yaml.SafeDumper, data: _Override) -> yaml.Node:
    return dumper.represent_sequence("!override", list(data))


class _ComposeDumper(yaml.SafeDumper):
    pass


_ComposeDumper.add_representer(_Override, _override_representer)


def load(path: Path) -> dict[str, Any]:
    """A compose file, read as YAML."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path.name}: malformed YAML: {exc}") from None


def override_text(document: dict[str, Any]) -> str:
    """The override file as written into the worktree (`!override` lists kept as such)."""
    return ("# Written by agentdeck: this agent's own compose project and host ports.\n"
            + yaml.dump(document, Dumper=_ComposeDumper, sort_keys=False))


def find_compose_file(root: Path, configured: str | None) -> str | None:
    if configured:
        return configured if (root / configured).is_file() else None
    return next((name for name in COMPOSE_FILES if (root / name).is_file()), None)


def override_name(base_name: str, root: Path) -> str:
    """The name compose loads on its own (docker-compose.override.yml beside
    docker-compose.yml), unless the repository already has that file."""
    stem, ext = base_name.rsplit(".", 1) if "." in base_name else (base_name, "yaml")
    auto = f"{stem}.override.{ext}"
    return auto if not (root / auto).exists() else "compose.agentdeck.yaml"


def published_ports(service: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    """(host_ip, host_port, container_port, protocol) of every fixed host port of a service."""
    out: list[tuple[str, int, int, str]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published, target = entry.get("published"), entry.get("target")
            if published is None or target is None:
                continue
            out.append((str(entry.get("host_ip", "")), int(str(published).split("-")[0]),
                        int(target), str(entry.get("protocol", "tcp"))))
            continue
        text = str(entry)
        text, _, proto = text.partition("/")
        pieces = text.rsplit(":", 2) if text.count(":") >= 1 else [text]
        if len(pieces) == 1:
            continue  # container port only: docker picks a random host port, nothing collides
        host_ip = pieces[0] if len(pieces) == 3 else ""
        host, container = pieces[-2], pieces[-1]
        host_start, _, host_end = host.partition("-")
        cont_start, _, _ = container.partition("-")
        if not host_start:
            continue
        count = int(host_end) - int(host_start) + 1 if host_end else 1
        for i in range(count):
            out.append((host_ip, int(host_start) + i, int(cont_start) + i, proto or "tcp"))
    return out


def compose_override(base: dict[str, Any], slot: int, project: str) -> tuple[dict[str, Any],
                                                                             dict[int, int]]:
    """The override document, and the host-port mapping old → new it applies."""
    services = base.get("services") or {}
    hosts = [p[1] for svc in services.values() if isinstance(svc, dict)
             for p in published_ports(svc)]
    # Shift by a whole span per agent so adjacent published ports never collide across agents.
    step = (max(hosts) - min(hosts) + 1) if hosts else 1
    mapping: dict[int, int] = {}
    override_services: dict[str, Any] = {}
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        entries = published_ports(svc)
        if not entries:
            continue
        new_entries = []
        for host_ip, host, container, proto in entries:
            shifted = host + slot * step
            if shifted > 65535:
                raise UsageError(f"compose service {name}: host port {host} shifted for agent "
                                 f"slot {slot} is past 65535; publish fewer or lower ports")
            mapping[host] = shifted
            prefix = f"{host_ip}:" if host_ip else ""
            suffix = f"/{proto}" if proto != "tcp" else ""
            new_entries.append(f"{prefix}{shifted}:{container}{suffix}")
        # Unpublished (container-only) entries are kept as they were.
        kept = [e for e in svc.get("ports") or [] if not isinstance(e, dict) and ":" not in str(e)]
        override_services[name] = {"ports": _Override(new_entries + [str(e) for e in kept])}
    document: dict[str, Any] = {"name": project}
    if override_services:
        document["services"] = override_services
    return document, mapping



def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                                capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())



def run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise OperationError(f"{' '.join(args[:3])} failed in {cwd}: {tail[0]}")
