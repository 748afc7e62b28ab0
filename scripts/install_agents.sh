#!/usr/bin/env bash
# Install the agent CLIs the end-to-end tests drive, pinned, into one folder per set of versions
# under ~/.cache/agentdeck (or $AGENTDECK_AGENTS_DIR), and link .cache/agents to it: a fresh
# clone on the same machine finds them there and fetches nothing again. Safe to re-run.
# Prints the folder on its last line. Exits non-zero when a CLI could not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The verified versions (CLAUDE=…, CODEX=…) from the one registry of agent kinds,
# agentdeck/core/fleet/kinds.py: it imports only the standard library, so the bare python3
# reads it before any virtualenv exists.
versions="$(python3 -m agentdeck.core.fleet.kinds --versions)"
eval "$versions"
key="claude-$CLAUDE.codex-$CODEX.gemini-$GEMINI.aider-$AIDER"
# the newer CLIs in a folder of their own, so adding one does not fetch the others again
more="${AGENTDECK_AGENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentdeck/agents-opencode-$OPENCODE.kilo-$KILO.qwen-$QWEN.copilot-$COPILOT}"
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

if [ -x "$more/node_modules/.bin/opencode" ] && [ -x "$more/node_modules/.bin/kilo" ] \
   && [ -x "$more/node_modules/.bin/qwen" ] && [ -x "$more/node_modules/.bin/copilot" ]; then
  echo "install_agents: opencode, Kilo, Qwen Code and Copilot CLI already in $more" >&2
elif command -v npm >/dev/null 2>&1; then
  # (Crush is not among them: its package downloads its binary from GitHub at install time)
  npm install --prefix "$more" --no-audit --no-fund --loglevel=error "opencode-ai@$OPENCODE" \
    "@kilocode/cli@$KILO" "@qwen-code/qwen-code@$QWEN" "@github/copilot@$COPILOT" || failed=1
else
  failed=1
fi
if [ -z "${AGENTDECK_AGENTS_DIR:-}" ]; then ln -sfn "$more" .cache/agents-more; fi

# The ACP adapters of Claude Code and Codex (CLAUDE_ACP, CODEX_ACP: package@version), a folder
# of their own, linked as .cache/agents-acp (tests/e2e/test_acp_agents.py runs both)
acpkey="$(printf '%s.%s' "${CLAUDE_ACP##*@}" "${CODEX_ACP##*@}")"
acpdir="${AGENTDECK_AGENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentdeck/agents-acp-$acpkey}"
if [ -x "$acpdir/node_modules/.bin/claude-agent-acp" ] && [ -x "$acpdir/node_modules/.bin/codex-acp" ]; then
  echo "install_agents: the Claude Code and Codex ACP adapters already in $acpdir" >&2
elif command -v npm >/dev/null 2>&1; then
  mkdir -p "$acpdir"
  npm install --prefix "$acpdir" --no-audit --no-fund --loglevel=error "$CLAUDE_ACP" "$CODEX_ACP" \
    || failed=1
else
  failed=1
fi
if [ -z "${AGENTDECK_AGENTS_DIR:-}" ]; then ln -sfn "$acpdir" .cache/agents-acp; fi

# The newest Claude Code and Codex beside the pinned ones, same cache scheme, linked as
# .cache/agents-newest: the rate-limit e2e (tests/e2e/test_rate_limits.py) runs on both. Bump
# with `npm view @anthropic-ai/claude-code version` and `npm view @openai/codex version`.
NEWEST_CLAUDE=2.1.332 NEWEST_CODEX=0.171.0
newest="${AGENTDECK_NEWEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agentdeck/agents-claude-$NEWEST_CLAUDE.codex-$NEWEST_CODEX}"
if [ "$NEWEST_CLAUDE.$NEWEST_CODEX" != "$CLAUDE.$CODEX" ]; then
  if [ -x "$newest/node_modules/@anthropic-ai/claude-code-linux-x64/claude" ] \
     && [ -x "$newest/node_modules/.bin/codex" ]; then
    echo "install_agents: the newest Claude Code and Codex CLI already in $newest" >&2
  elif command -v npm >/dev/null 2>&1; then
    mkdir -p "$newest"
    npm install --prefix "$newest" --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@$NEWEST_CLAUDE" "@openai/codex@$NEWEST_CODEX" || failed=1
  else
    failed=1
  fi
  if [ -z "${AGENTDECK_AGENTS_DIR:-}" ]; then ln -sfn "$newest" .cache/agents-newest; fi
fi

if [ ! -x "$dest/aider-venv/bin/aider" ]; then
  rm -rf "$dest/aider-venv"
  { python3 -m venv "$dest/aider-venv" \
    && "$dest/aider-venv/bin/pip" install --quiet --disable-pip-version-check \
         "aider-chat==$AIDER"; } || { rm -rf "$dest/aider-venv"; failed=1; }
fi
echo "$dest"
exit "$failed"
