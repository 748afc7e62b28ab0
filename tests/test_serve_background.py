"""`agentdeck serve --background`: the web server beside the session host daemon, in a session
of its own, its log under the registry folder with no token in it, shown by `daemon status`
and stopped (with its pages' dashboards) by `agentdeck daemon stop`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psutil

from agentdeck.web import background
from tests.conftest import assert_one_line_error, free_port, run_agentdeck, wait
from tests.served import LINK, Served, answers_http, asker_repo


def test_serve_runs_beside_the_daemon_until_daemon_stop(tmp_path: Path) -> None:
    repo, answers = asker_repo(tmp_path)
    port = free_port()
    started = run_agentdeck("serve", "--background", "--port", str(port), cwd=repo)
    assert started.code == 0, started.err
    link = LINK.search(started.out)  # (no device is paired yet: the pairing link is shown)
    assert link and "in the background" in started.out, started.out
    served = Served(repo, link.group(1), None, tmp_path / "x", tmp_path / "y", answers)
    try:
        serving = background.running(served.state)
        assert serving is not None and serving.url == served.base + "/"
        assert os.getsid(serving.pid) == serving.pid  # its own session: a closed terminal
        token = served.pair("phone")
        assert served.get("/", token) == 200
        status = run_agentdeck("daemon", "status", cwd=repo)
        assert f"serving the dashboard at {serving.url} (pid {serving.pid})" in status.out
        # one at a time
        again = run_agentdeck("serve", "--background", "--port", str(free_port()), cwd=repo)
        assert_one_line_error(again, 1, "already runs for this repository", "daemon stop")
        log = served.state / background.LOG_FILE
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        assert token not in log.read_text() and served.url.split("code=")[1] not in log.read_text()
    finally:
        stopped = run_agentdeck("daemon", "stop", cwd=repo)
    assert f"agentdeck serve (pid {serving.pid}) stopped" in stopped.out, stopped.out
    assert "agentdeck daemon stopped" in stopped.out
    assert not psutil.pid_exists(serving.pid) or psutil.Process(serving.pid).status() == (
        psutil.STATUS_ZOMBIE)
    wait(lambda: not answers_http(served.base + "/"), "the port to close")
    assert background.running(served.state) is None
    assert not (served.state / background.PID_FILE).exists()
