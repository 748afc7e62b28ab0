"""Issue 16 bench (6): how agentdeck grows with the fleet. For 1, 5, 10, 20 and 40 agents:
- idle CPU of the dashboard and its session host daemon, their waited-for children included
  (the radar's git), over a quiet window, as % of one core;
- their resident memory together (each agent printed a screenful; the agents' own processes
  are not counted);
- prompt -> queue p95 with every agent streaming ~50 KB/s, through the session host daemon with
  a real dashboard attached (target < 30 ms at 40 agents), beside the anchor measured in the
  same run: one raw select loop finding "[y/n]" in the same streams.
Each should grow at most linearly: the per-agent columns say so.

    python bench/scale.py [--sizes 1,5,10,20,40] [--window 20] [--prompts 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import AGENTDECK, Running  # the same folder
from idle import cpu_with_children, make_repo
from queue_latency import raw_watch, through_session_host
from terminal import p95


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,5,10,20,40")
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            repo = make_repo(Path(tmp), n, args.files)
            dash = Running([*AGENTDECK], repo, daemon_of=repo)
            try:
                dash.settle(quiet=2.0, limit=180.0)
                cpu = sum(cpu_with_children(dash.procs(), args.window))
                rss = sum(dash.rss()) / 2**20
            finally:
                dash.close()
        ours = through_session_host(n, args.prompts)
        anchor = raw_watch(n, args.prompts)
        rows.append((n, cpu, rss, p95(ours) * 1000, p95(anchor) * 1000))
        print(f"  {n} agents measured", file=sys.stderr, flush=True)
    print(f"{'agents':>6} {'idle CPU %':>10} {'per agent':>9} {'RSS MB':>7} {'per agent':>9} "
          f"{'p95 ms':>7} {'raw p95':>7} {'ratio':>6}")
    base_cpu, base_rss = rows[0][1], rows[0][2]
    for n, cpu, rss, ours_ms, raw_ms in rows:
        extra = max(n - rows[0][0], 1)
        print(f"{n:>6} {cpu:>10.2f} {(cpu - base_cpu) / extra:>9.3f} {rss:>7.1f} "
              f"{(rss - base_rss) / extra:>9.2f} {ours_ms:>7.1f} {raw_ms:>7.1f} "
              f"{ours_ms / raw_ms if raw_ms else float('inf'):>5.1f}x")
    print("(per agent: the growth over the smallest fleet, divided by the agents added)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
