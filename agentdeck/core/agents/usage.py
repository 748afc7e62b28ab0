"""What each agent has used: tokens in and out, and the cost where its CLI reports one — read
from the CLI's own records, never guessed from the screen's spinner:

- Claude Code: its session transcripts (`~/.claude/projects/<cwd>/*.jsonl`, or under
  CLAUDE_CONFIG_DIR), each model reply's `usage` (counted once per message id); it writes no
  cost there, so the cost is estimated from the model's list price where the model is known;
- Codex CLI: its session logs (`~/.codex/sessions/**/rollout-*.jsonl`, or under CODEX_HOME) of
  this worktree, the last `token_count` event's totals;
- Aider: the "Tokens: … sent, … received. Cost: $… message, $… session." lines it prints (from
  the agent's transcript), the session cost as it says it.

The home is the agent's own: its environment's HOME, or its sandbox's home copy."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agentdeck.core.fleet.kinds import KINDS

# $ per million tokens (input, output): list prices, for an estimate where a CLI reports none
PRICES = {"opus": (15.0, 75.0), "sonnet": (3.0, 15.0), "haiku": (1.0, 5.0)}
_AIDER = re.compile(r"Tokens: ([\d.,]+)(k?) sent, ([\d.,]+)(k?) received\."
                    r"(?: Cost: \$([\d.,]+) message, \$([\d.,]+) session\.)?")


@dataclass(frozen=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None  # $; None: not reported (nor estimable)
    estimated: bool = False  # the cost is an estimate from list prices

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def label(self) -> str:
        """`12.3k tok $0.42` for the sidebar."""
        if not self.tokens and self.cost is None:
            return ""
        text = f"{_short(self.tokens)} tok"
        if self.cost is not None:
            text += f" {'≈' if self.estimated else ''}${self.cost:.2f}"
        return text


def usage_of(kind: str, cwd: str, env: Mapping[str, str], transcript: str = "",
             since: float = 0.0) -> Usage:
    """An agent's usage so far, by its CLI (an unknown kind: nothing known). `since`: when it
    started (a time.time()): sessions not written since are an earlier run's, or the user's
    own in that folder, not this agent's."""
    reader = READERS.get(KINDS[kind].usage or "") if kind in KINDS else None
    if reader is None:
        return Usage()
    return reader(cwd, env, Path(env.get("HOME") or os.path.expanduser("~")), transcript, since)


def _claude(config: Path, cwd: str, since: float = 0.0) -> Usage:
    folder = config / "projects" / re.sub(r"[^A-Za-z0-9]", "-", cwd)
    replies: dict[str, tuple[str, dict[str, int]]] = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        if path.stat().st_mtime < since:
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            message = record.get("message") if isinstance(record, dict) else None
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                key = str(message.get("id") or record.get("uuid") or len(replies))
                replies[key] = (str(message.get("model", "")), message["usage"])  # the last
    tokens_in = tokens_out = 0
    cost = 0.0
    known = bool(replies)
    for model, usage in replies.values():
        into = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                      "cache_read_input_tokens"))
        out = int(usage.get("output_tokens") or 0)
        tokens_in, tokens_out = tokens_in + into, tokens_out + out
        price = next((p for name, p in PRICES.items() if name in model.lower()), None)
        if price is None:
            known = False
        else:
            cost += (into * price[0] + out * price[1]) / 1e6
    return Usage(tokens_in, tokens_out, round(cost, 4) if known else None, known)


def _codex(home: Path, cwd: str, since: float = 0.0) -> Usage:
    best: tuple[float, Usage] | None = None
    for path in (home / "sessions").rglob("rollout-*.jsonl") if (home / "sessions").is_dir() \
            else []:
        if path.stat().st_mtime < since:  # (an earlier session: not read at all)
            continue
        totals: dict[str, int] | None = None
        mine = False
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            payload = record.get("payload") if isinstance(record, dict) else None
            if not isinstance(payload, dict):
                continue
            if record.get("type") == "session_meta" and payload.get("cwd") == cwd:
                mine = True
            info = payload.get("info") if payload.get("type") == "token_count" else None
            if isinstance(info, dict) and isinstance(info.get("total_token_usage"), dict):
                totals = info["total_token_usage"]
        if mine and totals is not None:
            found = Usage(int(totals.get("input_tokens") or 0),
                          int(totals.get("output_tokens") or 0))
            when = path.stat().st_mtime
            if best is None or when > best[0]:  # its latest session
                best = (when, found)
    return best[1] if best else Usage()


def aider_lines(text: str) -> Usage:
    tokens_in = tokens_out = 0
    cost: float | None = None
    for match in _AIDER.finditer(text):
        tokens_in += _number(match.group(1), match.group(2))
        tokens_out += _number(match.group(3), match.group(4))
        if match.group(6):
            cost = float(match.group(6).replace(",", ""))
    return Usage(tokens_in, tokens_out, cost)


# how each CLI's usage is read (an agent kind names its reader in core/fleet/kinds.py): from
# (cwd, environment, home, transcript, since)
READERS: dict[str, Callable[[str, Mapping[str, str], Path, str, float], Usage]] = {
    "claude": lambda cwd, env, home, _, since: _claude(
        Path(env.get("CLAUDE_CONFIG_DIR") or home / ".claude"), cwd, since),
    "codex": lambda cwd, env, home, _, since: _codex(
        Path(env.get("CODEX_HOME") or home / ".codex"), cwd, since),
    "aider": lambda _cwd, _env, _home, transcript, _since: aider_lines(transcript),
}


def _number(digits: str, k: str) -> int:
    value = float(digits.replace(",", ""))
    return int(value * 1000) if k else int(value)


def _short(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)
