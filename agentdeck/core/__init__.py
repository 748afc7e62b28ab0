"""The engine: everything that is not drawing. Never imports Textual."""

import os

# GitPython raises at import time when no git is on PATH; agentdeck checks for git itself and
# says what to install in one line, so GitPython must stay quiet.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
