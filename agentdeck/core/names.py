"""What a name in agentdeck may be, and the roles an agent can have: shared by the fleet file,
the CLI's parser and the spawn dialog (kept tiny: `agentdeck --help` imports it)."""

from __future__ import annotations

import re

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
ROLES = ("lead", "worker")
