"""Issue 34 bench: an ACP agent's permission request -> its queue entry, with 20 agents asking
at once (target: p95 < 20 ms through the session host).

Each agent is tests/acp_agent.py (the SDK's agent side) running "ask N": it logs the wall-clock
time it sends each `session/request_permission` and waits for the answer. Measured: from that
send to the entry appearing in the queue of a client attached to the session host daemon (the
daemon's SDK connection -> AcpRequest -> approvals queue -> the queue's push to the client),
answered at once. In-process (LocalHost and its queue, the entry seen by a queue listener) is
measured beside it, and the anchor, in the same run: a bare SDK client in one process that
takes the same 20 agents' requests and answers them — the least any ACP client can take. The
contenders alternate, each round in another order.

    python bench/acp_queue.py [--agents 20] [--asks 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentdeck.core.agents.sessions import LocalHost, SessionSpec, poll_until  # noqa: E402
from agentdeck.core.oversight.approvals import ApprovalQueue, Entry  # noqa: E402
from agentdeck.daemon import lifecycle  # noqa: E402
from agentdeck.daemon.client import RemoteQueue  # noqa: E402

AGENT = ROOT / "tests" / "acp_agent.py"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def specs(root: Path, agents: int, asks: int) -> list[SessionSpec]:
    out = []
    for i in range(agents):
        wt = root / f"wt{i}"
        wt.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "ACP_LOG": str(root / f"a{i}.log")}
        out.append(SessionSpec(name=f"a{i}", argv=(sys.executable, str(AGENT)), cwd=str(wt),
                               env=env, agent="scripted", channel="acp", prompt=f"ask {asks}"))
    return out


def sent_times(root: Path, agents: int) -> dict[tuple[str, str], float]:
    sent: dict[tuple[str, str], float] = {}
    for i in range(agents):
        path = root / f"a{i}.log"
        for line in path.read_text().splitlines() if path.exists() else []:
            event = json.loads(line)
            if event["event"] == "asking":
                sent[(f"a{i}", event["command"])] = event["at"]
    return sent


def drive(pending: Callable[[], list[Entry]], answer: Callable[[int], object],
          on_change: Callable[[Callable[[], None]], Callable[[], None]],
          total: int) -> dict[tuple[str, str], float]:
    """Record when each entry first shows, answer it at once (on a thread of its own: an
    answer through the daemon waits for its reply); until `total` were seen."""
    seen: dict[tuple[str, str], float] = {}
    lock = threading.Lock()

    def changed() -> None:
        now = time.time()
        fresh = []
        entries = pending()  # (not under our lock: the queue may call this under its own)
        with lock:
            for entry in entries:
                key = (entry.agent, entry.summary)
                if key not in seen:
                    seen[key] = now
                    fresh.append(entry.id)
        for entry_id in fresh:
            threading.Thread(target=lambda e=entry_id: _quietly(answer, e), daemon=True).start()

    stop = on_change(changed)
    changed()
    assert poll_until(lambda: len(seen) >= total, 300), f"{len(seen)} of {total} seen"
    stop()
    return seen


def _quietly(answer: Callable[[int], object], entry_id: int) -> None:
    # (answered by another path meanwhile: not this bench's concern)
    with contextlib.suppress(Exception):
        answer(entry_id)


Keyed = dict[tuple[str, str], float]  # (agent, command) -> wall-clock time


def latencies(seen: Keyed, sent: Keyed) -> list[float]:
    return [(seen[k] - sent[k]) * 1000 for k in seen if k in sent]


def in_process(agents: int, asks: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="agentdeck-acp-bench-") as tmp:
        root = Path(tmp)
        host = LocalHost()
        queue = ApprovalQueue(host, None)
        try:
            for spec in specs(root, agents, asks):
                host.spawn(spec)
            seen = drive(queue.pending, lambda e: queue.answer(e, "allow"), queue.on_change,
                         agents * asks)
            return latencies(seen, sent_times(root, agents))
        finally:
            queue.close()
            host.close()


def through_session_host(agents: int, asks: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="agentdeck-acp-bench-") as tmp:
        root = Path(tmp)
        state = root / "state"
        try:
            host = lifecycle.ensure(state, None)
            queue = RemoteQueue(host)
            # spawned from threads: all at once, as a fleet starts
            starters = [threading.Thread(target=host.spawn, args=(s,))
                        for s in specs(root, agents, asks)]
            for t in starters:
                t.start()
            seen = drive(queue.pending, lambda e: queue.answer(e, "allow"), queue.on_change,
                         agents * asks)
            host.close()
            return latencies(seen, sent_times(root, agents))
        finally:
            lifecycle.stop(state)


def bare_client(agents: int, asks: int) -> list[float]:
    """The anchor: one asyncio loop, a bare SDK client per agent answering at once."""
    from acp import PROTOCOL_VERSION, spawn_agent_process, text_block
    from acp.schema import AllowedOutcome, RequestPermissionResponse

    seen: dict[tuple[str, str], float] = {}

    class Bare:
        def __init__(self, name: str) -> None:
            self.name = name

        async def request_permission(self, session_id: str, tool_call: Any, options: Any,
                                     **kw: Any) -> RequestPermissionResponse:
            seen[(self.name, tool_call.raw_input["command"])] = time.time()
            return RequestPermissionResponse(outcome=AllowedOutcome(
                option_id=options[0].option_id, outcome="selected"))

        async def session_update(self, session_id: str, update: Any, **kw: Any) -> None:
            return None

    async def one(spec: SessionSpec) -> None:
        # (its process may be gone, and reaped, by the time the SDK ends it: not measured)
        with contextlib.suppress(ProcessLookupError):
            async with spawn_agent_process(Bare(spec.name), *spec.argv, env=spec.env,
                                           cwd=spec.cwd) as (conn, proc):
                await conn.initialize(protocol_version=PROTOCOL_VERSION)
                session = await conn.new_session(cwd=spec.cwd, mcp_servers=[])
                await conn.prompt(session_id=session.session_id,
                                  prompt=[text_block(spec.prompt or "")])
                proc.kill()

    async def all_of(root: Path) -> None:
        await asyncio.gather(*(one(s) for s in specs(root, agents, asks)))

    with tempfile.TemporaryDirectory(prefix="agentdeck-acp-bench-") as tmp:
        root = Path(tmp)
        asyncio.run(all_of(root))
        return latencies(seen, sent_times(root, agents))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--asks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    contenders = {"bare SDK client (anchor)": bare_client, "in-process": in_process,
                  "session host -> client": through_session_host}
    results: dict[str, list[float]] = {name: [] for name in contenders}
    loads = [os.getloadavg()[0]]
    order = list(contenders.items())
    for round_ in range(args.rounds):
        # each round in another order: none always runs first (or after the same one)
        for name, run in order[round_ % len(order):] + order[:round_ % len(order)]:
            results[name].append(p95(run(args.agents, args.asks)))
            loads.append(os.getloadavg()[0])
    print(f"{args.agents} agents x {args.asks} requests, p95 ms per round "
          f"(load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs):")
    anchor = statistics.median(results["bare SDK client (anchor)"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:26} median {median:6.1f} ms  (range {min(values):.1f}-"
              f"{max(values):.1f})  {median - anchor:+.1f} ms over the anchor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
