"""ACP agents: the second channel beside the PTY (DESIGN.md, "Two channels").

An agent with `channel: acp` speaks the Agent Client Protocol (JSON-RPC over its stdio, through
the `agent-client-protocol` SDK, `pip install 'agentdeck[acp]'`): `session.AcpSession` runs it
in the session host, `client.DeckClient` is agentdeck as its client (files confined to the
worktree, terminals in agentdeck's PTYs), `permission` makes its permission requests queue
entries, `conversation` is what its pane lays out.
"""

from __future__ import annotations

import importlib.util

from agentdeck.core.errors import MissingExtra


def sdk_missing() -> str | None:
    """Why ACP agents cannot run here (the SDK is not installed), or None."""
    if importlib.util.find_spec("acp") is None:
        return str(MissingExtra("acp"))
    return None
