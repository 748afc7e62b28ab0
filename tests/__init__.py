"""agentdeck's tests (a package: tests import each other's helpers as tests.…).

This machine sets PYTHONDONTWRITEBYTECODE. Under it nothing agentdeck's tests start — the CLI,
the session host, the scripted agents, each a Python process — could keep its compiled modules,
and every one of them compiled cli.py, the daemon and the rest anew: ~0.1 s of CPU per process,
hundreds of processes a run. Set here, before conftest imports agentdeck, so this process and
every one it starts keep their bytecode in __pycache__ as they would on a user's machine.
"""

import os
import sys

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
