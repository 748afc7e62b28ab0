"""Which of the user's environment variables an agent, its setup commands and the session host
inherit.

A fleet that hands one agent a secret (`env: {API_KEY: ${AUTH_KEY}}`) must not hand it to every
other agent through the shell environment they all inherit: the variables the fleet names for
some agents (their `env:` keys and the `${VAR}`s their values read) are withheld from the
others, and the session host, which starts agents with the environment each client computed,
inherits none of them. `env_passthrough` narrows an agent's inheritance to an allowlist.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from fnmatch import fnmatchcase

from agentdeck.core.fleet.spec import AgentSpec, Fleet

# what any program needs to run at all; kept under env_passthrough whatever the list says
BASICS = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ",
          "TMPDIR")


def spec_of(fleet: Fleet, name: str) -> AgentSpec:
    """The agent's entry, or the defaults for one spawned outside the fleet file."""
    return fleet.agent(name) or fleet.defaults


def _named(spec: AgentSpec) -> set[str]:
    return set(spec.refs) | set(spec.env)


def withheld(fleet: Fleet, name: str) -> frozenset[str]:
    """Variables the fleet names for other agents and not for this one (nor for all)."""
    mine = _named(spec_of(fleet, name)) | _named(fleet.defaults)
    others: set[str] = set()
    for agent in fleet.agents:
        if agent.name != name:
            others |= _named(agent)
    return frozenset(others - mine)


def inherited(fleet: Fleet, name: str,
              base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of the user's environment agent `name` starts from."""
    drop = withheld(fleet, name)
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in drop}
    allow = spec_of(fleet, name).env_passthrough
    if allow is not None:
        keep = (*BASICS, *allow)
        env = {k: v for k, v in env.items() if any(fnmatchcase(k, p) for p in keep)}
    return env


def host_environment(fleet: Fleet, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The session host's environment: none of the variables the fleet names for any agent
    (it starts each agent with the environment the client computed for it)."""
    named = _named(fleet.defaults)
    for agent in fleet.agents:
        named |= _named(agent)
    return {k: v for k, v in (os.environ if base is None else base).items() if k not in named}
