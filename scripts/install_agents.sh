#!/usr/bin/env bash
# Install the agent CLIs the end-to-end tests drive, pinned, into one folder per set of versions
# under ~/.cache/agentdeck (or $AGENTDECK_AGENTS_DIR), and link .cache/agents to it: a fresh
# clone on the same machine finds them there and fetches nothing again. Safe to re-run.
# Prints the folder on its last line. Exits non-zero when a CLI could not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
CLAUDE=2.1.328 CODEX=0.169.0 GEMINI=0.61.0 AIDER=0.86.2  # keep in step with tests/e2e/real_agents.py
key="claude-$CLAUDE.codex-$CODEX.gemini-$GEMINI.aider-$AIDER"
dest="${AGENTDECK_AGENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentdeck/agents-$key}"
mkdir -p "$dest" .cache
if [ -z "${AGENTDECK_AGENTS_DIR:-}" ]; then
  if [ -d .cache/agents ] && [ ! -L .cache/agents ]; then
    # an install from before the shared cache: move it there unless the cache has one
    if [ -z "$(ls -A "$dest")" ]; then rmdir "$dest" && mv .cache/agents "$dest"; else rm -rf .cache/agents; fi
  fi
  ln -sfn "$dest" .cache/agents
fi
failed=0

if [ -x "$dest/node_modules/@anthropic-ai/claude-code-linux-x64/claude" ] \
   && [ -x "$dest/node_modules/.bin/codex" ] && [ -x "$dest/node_modules/.bin/gemini" ]; then
  echo "install_agents: Claude Code, Codex CLI and Gemini CLI already in $dest" >&2
elif command -v npm >/dev/null 2>&1; then
  # Claude Code's package brings its native binary as an optional dependency; the tests run
  # that binary directly (the package's node wrapper wants node >= 22).
  npm install --prefix "$dest" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE" "@openai/codex@$CODEX" "@google/gemini-cli@$GEMINI" \
    || failed=1
else
  echo "install_agents: npm not found: Claude Code, Codex CLI and Gemini CLI not installed" >&2
  failed=1
fi

if [ ! -x "$dest/aider-venv/bin/aider" ]; then
  rm -rf "$dest/aider-venv"
  { python3 -m venv "$dest/aider-venv" \
    && "$dest/aider-venv/bin/pip" install --quiet --disable-pip-version-check \
         "aider-chat==$AIDER"; } || { rm -rf "$dest/aider-venv"; failed=1; }
fi
echo "$dest"
exit "$failed"
