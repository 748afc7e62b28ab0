#!/usr/bin/env bash
# Install the agent CLIs the end-to-end tests drive, pinned, into .cache/agents (or
# $AGENTDECK_AGENTS_DIR). Safe to re-run: npm and pip skip what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${AGENTDECK_AGENTS_DIR:-$PWD/.cache/agents}"
mkdir -p "$dest"

if command -v npm >/dev/null 2>&1; then
  # Claude Code's package brings its native binary as an optional dependency; the tests run
  # that binary directly (the package's node wrapper wants node >= 22).
  npm install --prefix "$dest" --no-audit --no-fund --loglevel=error \
    @anthropic-ai/claude-code@2.1.328 @openai/codex@0.169.0 @google/gemini-cli@0.61.0
else
  echo "install_agents: npm not found: Claude Code, Codex CLI and Gemini CLI not installed" >&2
fi

if [ ! -x "$dest/aider-venv/bin/aider" ]; then
  python3 -m venv "$dest/aider-venv"
  "$dest/aider-venv/bin/pip" install --quiet --disable-pip-version-check aider-chat==0.86.2
fi
