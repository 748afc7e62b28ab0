"""A real OpenSSH server for tests: started as the current user on a free loopback port, with its
own host key, authorized key and client config (a Host alias the tests use as the destination).
No test here: tests/test_remote_hosts.py and bench/remote.py use it, tests/test_sshd_helper.py
tests it.

Run as root it is an ordinary sshd; run as anyone else it works unprivileged (it can then only
log in as that user, which is the one the client config names)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

SSHD = "/usr/sbin/sshd"
ALIAS = "agentdeck-test-remote"
START_TIMEOUT = 15.0  # seconds for a started sshd to let the client key in
ATTEMPTS = 5  # free ports tried: another process may bind the one we picked before sshd does
# what sshd logs when the port was taken between our pick and its bind (then another port)
BIND_FAILED = ("Address already in use", "Cannot bind any address")


def _sshd_path() -> str | None:
    """sshd's absolute path: it refuses to start otherwise ("sshd re-exec requires execution
    with an absolute path"), since it execs itself again for every connection."""
    if Path(SSHD).exists():
        return SSHD
    found = shutil.which("sshd")
    return str(Path(found).resolve()) if found else None


def sshd_available() -> str | None:
    """None when an sshd can be started here, else why not (for pytest.skip)."""
    if _sshd_path() is None:
        return "no OpenSSH server here (.ci/run installs openssh-server)"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "no OpenSSH client here (ssh, ssh-keygen)"
    return None


def _current_user() -> str:
    # the account sshd will log into; not getpass.getuser(), which believes $USER/$LOGNAME and
    # these may be another user's after su or runuser (sshd then refuses the login)
    return pwd.getpwuid(os.geteuid()).pw_name


def _is_session(proc: psutil.Process) -> bool:
    """A per-connection sshd ("sshd: user@notty"; "sshd-session"/"sshd-auth" from OpenSSH 9.8)
    rather than a command run in a session."""
    try:
        return proc.name().startswith("sshd")
    except psutil.Error:  # gone meanwhile
        return False


@dataclass
class SshServer:
    port: int
    alias: str  # the ssh destination, defined by `config`
    config: Path  # the ssh client config: pass `ssh_options()` to every ssh
    process: subprocess.Popen[bytes]  # the listening sshd
    log: Path  # sshd's log (-E)

    def ssh_options(self) -> list[str]:
        return ["-F", str(self.config)]

    def _descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:  # the listener has already gone
            return []

    def kill_connections(self) -> None:
        """End every connection as a network failure would: the per-connection sshd processes
        are killed, the listener stays, so the next connection succeeds. Returns once they are
        dead. The commands running in those sessions are left to notice by themselves (EOF on
        stdin, EPIPE on stdout), as after a real drop."""
        sessions = [proc for proc in self._descendants() if _is_session(proc)]
        for proc in sessions:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        wait_dead(sessions)  # a test that reconnects next must not race their exit

    def stop(self) -> None:
        """Stop the listener and everything it started (sessions and their commands): on
        SIGTERM sshd only closes its own socket, and each session runs in its own process
        session, so they would outlive it. Returns once all are dead; stopping twice is fine."""
        if self.process.poll() is None:
            # frozen first, so that no connection forks between listing its tree and the kill
            # (the tree cannot be found afterwards: orphans are re-parented)
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGSTOP)
        tree = self._descendants()
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        self.process.kill()  # (SIGKILL works on a stopped process; Popen ignores a reaped one)
        self.process.wait()
        wait_dead(tree)


def dead(proc: psutil.Process) -> bool:
    """Gone, or a zombie: killed processes that were re-parented wait for init to reap them,
    which some inits do only every second or so."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_dead(procs: list[psutil.Process], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(dead(proc) for proc in procs):
        if time.monotonic() > deadline:
            alive = [proc.pid for proc in procs if not dead(proc)]
            raise RuntimeError(f"processes {alive} still alive {timeout:.0f} s after SIGKILL")
        time.sleep(0.01)  # (SIGKILL takes effect within moments)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _q(path: Path) -> str:
    # both config parsers take a double-quoted value, so a temp dir with a space still works
    return f'"{path}"'


def _tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.strip().splitlines()[-lines:]) or "(sshd logged nothing)"


def _write_configs(tmp: Path, port: int) -> tuple[Path, Path]:
    """sshd_config and the client's ssh_config (and known_hosts) for this port."""
    server_config = tmp / "sshd_config"
    server_config.write_text(f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {_q(tmp / "host_key")}
PidFile {_q(tmp / "sshd.pid")}
AuthorizedKeysFile {_q(tmp / "authorized_keys")}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
# PAM needs root; unprivileged, sshd checks the key itself
UsePAM no
# pytest's temp dirs may be group/world-writable, which StrictModes would refuse
StrictModes no
PermitRootLogin prohibit-password
AllowTcpForwarding no
X11Forwarding no
PermitUserEnvironment no
# no motd or last-login lines in the output of a test that asks for a terminal (ssh -t)
PrintMotd no
PrintLastLog no
# tests open several connections at once; the default (10:30:100) drops some at random
MaxStartups 100
# the remote commands run without the user's ~/.bashrc (bash reads it for an ssh command only
# at shell level 1): a login's rc may take long or hang (seen here: pyenv's rehash waiting 60 s
# on a lock a killed session left), which no test of agentdeck is about
SetEnv SHLVL=1
""")
    # the host key pinned for exactly this address and port: no prompt, and a stranger that
    # took the port would fail the key check rather than be talked to
    host_key = " ".join((tmp / "host_key.pub").read_text().split()[:2])
    known_hosts = tmp / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key}\n")
    client_config = tmp / "ssh_config"
    client_config.write_text(f"""\
Host {ALIAS}
  HostName 127.0.0.1
  Port {port}
  User {_current_user()}
  IdentityFile {_q(tmp / "client_key")}
  IdentitiesOnly yes
  UserKnownHostsFile {_q(known_hosts)}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  LogLevel ERROR
  ControlMaster no
""")
    return server_config, client_config


def _listening(pid: int, port: int) -> bool:
    """Whether process `pid` itself listens on `port` (not some other process that took it)."""
    try:
        proc = psutil.Process(pid)
        # (net_connections from psutil 6, connections before)
        conns = (proc.net_connections("tcp") if hasattr(proc, "net_connections")
                 else proc.connections("tcp"))
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns)


def _wait_until_serving(server: SshServer) -> bool:
    """True once the client key logs in; False when sshd could not bind its port (another
    process took it first: the caller picks another). RuntimeError on any other failure."""
    deadline = time.monotonic() + START_TIMEOUT
    probe_error = ""
    while True:
        if server.process.poll() is not None:
            tail = _tail(server.log)
            if any(sign in tail for sign in BIND_FAILED):
                return False
            raise RuntimeError(
                f"sshd exited with status {server.process.returncode}:\n{tail}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:  # (start_sshd stops it)
            tail = _tail(server.log)
            # as root without PAM, sshd reads /etc/shadow and refuses a '!'-locked account
            hint = ("\n(unlock the account for key logins, e.g. usermod -p '*' "
                    f"{_current_user()})" if "account is locked" in tail else "")
            raise RuntimeError(
                f"sshd on port {server.port} did not let the test key in within "
                f"{START_TIMEOUT:.0f} s (ssh said: {probe_error or 'nothing'}); its log:\n"
                f"{tail}{hint}")
        if not _listening(server.process.pid, server.port):
            # Not yet bound. Only then ssh: had another process taken the port, the probe
            # would talk to it, which may accept and never answer.
            time.sleep(0.02)
            continue
        try:
            probe = subprocess.run(["ssh", *server.ssh_options(), server.alias, "true"],
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=remaining)
        except subprocess.TimeoutExpired:
            continue  # the deadline check above reports it
        if probe.returncode == 0:
            return True
        probe_error = probe.stderr.strip()
        time.sleep(0.05)  # between polls (listening, sshd should let us in at once)


def start_sshd(tmp: Path, port: int | None = None) -> SshServer:
    """Start an sshd for this test in `tmp` (created if need be), as the current user on a
    free port of 127.0.0.1; returns once `ssh -F server.config server.alias true` succeeds.
    Call `stop()` when done. `port`: an earlier server's in `tmp`, whose keys it keeps (a host
    that comes back after being down)."""
    sshd = _sshd_path()
    if sshd is None:
        raise RuntimeError(sshd_available())
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        if port is not None and (tmp / name).exists():
            continue  # the same host again: the same keys
        for stale in (tmp / name, tmp / f"{name}.pub"):  # ssh-keygen would ask to overwrite
            stale.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name,
                        "-f", str(tmp / name)],
                       stdin=subprocess.DEVNULL, check=True, capture_output=True)
    (tmp / "authorized_keys").write_text((tmp / "client_key.pub").read_text())
    if os.geteuid() == 0:  # as root sshd insists on its privilege separation directory
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    log = tmp / "sshd.log"
    wanted = port
    for _attempt in range(ATTEMPTS):
        port = wanted or _free_port()
        server_config, client_config = _write_configs(tmp, port)
        log.unlink(missing_ok=True)  # a previous attempt's bind error is not this one's
        # -D: stays in the foreground as our child, so stop() and kill_connections() find its
        # process tree; -E: its log goes to a file a failure can quote
        process = subprocess.Popen([sshd, "-D", "-e", "-f", str(server_config), "-E", str(log)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        server = SshServer(port, ALIAS, client_config, process, log)
        try:
            if _wait_until_serving(server):
                return server
        except BaseException:
            server.stop()
            raise
        server.stop()
    raise RuntimeError(f"sshd found no free port in {ATTEMPTS} attempts; its log:\n{_tail(log)}")


def serving(tmp_path: Path) -> Iterator[SshServer]:
    """A fixture's body for tests of agents on another host: an sshd in `tmp_path`; when the
    test ends, the session hosts (and their agents) of both clones the tests make, the local
    `app` and the host's `box1-app`, then the server."""
    from agentdeck.core.git.repo import open_repo
    from agentdeck.daemon import lifecycle

    server = start_sshd(tmp_path / "sshd")
    yield server
    for clone in (tmp_path / "app", tmp_path / "box1-app"):
        if (clone / ".git" / "agentdeck").is_dir():
            lifecycle.stop(open_repo(clone).state_dir)
    server.stop()
