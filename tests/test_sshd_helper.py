"""The test sshd helper itself (tests/sshd.py): a real OpenSSH server that lets the generated
key in as this user, passes a command through exactly, survives `kill_connections()` (the
clients drop, new ones get in) and leaves nothing behind after `stop()`."""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import tests.sshd
from tests.conftest import requires, wait
from tests.sshd import SshServer, dead, sshd_available, start_sshd


@pytest.fixture(autouse=True)
def _needs_sshd() -> None:
    requires("an sshd", sshd_available())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SshServer]:
    server = start_sshd(tmp_path / "sshd")
    yield server
    server.stop()


def ssh(server: SshServer, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", *server.ssh_options(), server.alias, command],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)


def long_session(server: SshServer) -> tuple[subprocess.Popen[bytes], psutil.Process]:
    """An ssh client running `sleep 30` there, and that remote sleep (once it runs)."""
    client = subprocess.Popen(["ssh", *server.ssh_options(), server.alias, "sleep 30"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    found: list[psutil.Process] = []

    def remote_sleep() -> bool:
        for proc in psutil.Process(server.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):  # (a probe's sshd ending)
                if proc.name() == "sleep":
                    found.append(proc)
        return bool(found)

    wait(remote_sleep, "the remote `sleep 30` to run", timeout=15)
    return client, found[0]


def test_runs_a_command_as_this_user(server: SshServer) -> None:
    done = ssh(server, "echo hi")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hi\n", "")
    who = ssh(server, "id -un")
    assert who.stdout.strip() == pwd.getpwuid(os.geteuid()).pw_name
    # on the loopback only, on the port it reports
    assert server.config.read_text().count(f"Port {server.port}\n") == 1
    listener = psutil.Process(server.process.pid)
    conns = (listener.net_connections("tcp") if hasattr(listener, "net_connections")
             else listener.connections("tcp"))  # (psutil < 6)
    listening = {tuple(c.laddr) for c in conns if c.status == psutil.CONN_LISTEN}
    assert listening == {("127.0.0.1", server.port)}


def test_an_argument_with_spaces_and_quotes_arrives_exactly(server: SshServer) -> None:
    # ssh joins its words with spaces for the remote shell: one quoted string survives it
    argument = """it's "quoted"  with  two spaces, a $HOME, a `tick`, a \\ and a tab\there"""
    done = ssh(server, f"printf %s {shlex.quote(argument)}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == argument


def test_kill_connections_drops_clients_and_keeps_listening(server: SshServer) -> None:
    client, remote = long_session(server)
    try:
        # (all settled: the client is connected and its command runs)
        sessions = [proc for proc in psutil.Process(server.process.pid).children(recursive=True)
                    if proc.name().startswith("sshd")]
        assert sessions, "no per-connection sshd found"
        server.kill_connections()
        # promptly: the client sees the connection closed, long before its 30 s are up
        assert client.wait(timeout=10) != 0
        assert all(dead(proc) for proc in sessions)
        assert server.process.poll() is None  # the listener stays
        again = ssh(server, "true")
        assert again.returncode == 0, again.stderr
    finally:
        client.kill()
        client.wait()
        # the remote command outlives a dropped connection (as it would after a real drop)
        remote.kill()


def test_stop_leaves_no_sshd_behind(tmp_path: Path) -> None:
    server = start_sshd(tmp_path / "sshd")
    client, remote = long_session(server)
    try:
        tree = [psutil.Process(server.process.pid),
                *psutil.Process(server.process.pid).children(recursive=True)]
        assert remote in tree
        server.stop()
        # the listener, the connection's sshd and the command it ran: all gone
        assert [proc for proc in tree if not dead(proc)] == []
        assert not psutil.pid_exists(server.process.pid)  # reaped, not a zombie
        assert client.wait(timeout=10) != 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        server.stop()  # twice is harmless (a fixture's teardown after a test's own stop)
    finally:
        client.kill()
        client.wait()
        server.stop()


def test_a_port_taken_before_sshd_binds_it_is_retried(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        free = tests.sshd._free_port
        # the first port "free" when picked is another's by the time sshd binds it
        monkeypatch.setattr(tests.sshd, "_free_port", lambda: next(ports, None) or free())
        server = start_sshd(tmp_path / "sshd")
        try:
            assert server.port != taken.getsockname()[1]
            assert ssh(server, "true").returncode == 0
        finally:
            server.stop()


def test_a_server_that_refuses_the_key_fails_with_its_log(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # a user sshd does not know: it listens, but the probe never gets in
    monkeypatch.setattr(tests.sshd, "_current_user", lambda: "agentdeck-no-such-user")
    monkeypatch.setattr(tests.sshd, "START_TIMEOUT", 2.0)
    with pytest.raises(RuntimeError, match=r"(?s)did not let the test key in.*"
                                           r"Invalid user agentdeck-no-such-user"):
        start_sshd(tmp_path / "sshd")
    # and the server it started is not left running
    config = str(tmp_path / "sshd" / "sshd_config")
    left = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if config in " ".join(proc.cmdline()) and not dead(proc):
                left.append(proc)
    assert left == []
