"""A real OpenSSH server for tests: started as the current user on a free loopback port, with its
own host key, authorized key and client config (a Host alias the tests use as the destination).
No test here: tests/test_remote_hosts.py uses it."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

SSHD = "/usr/sbin/sshd"  # sshd insists on being started by its absolute path


def sshd_available() -> str | None:
    """None when an sshd can be started here, else why not (for pytest.skip)."""
    if not Path(SSHD).exists() and shutil.which("sshd") is None:
        return "no OpenSSH server here (.ci/run installs openssh-server)"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "no OpenSSH client here"
    return None


@dataclass
class SshServer:
    port: int
    alias: str
    config: Path
    process: subprocess.Popen[bytes]
    log: Path

    def ssh_options(self) -> list[str]:
        return ["-F", str(self.config)]

    def kill_connections(self) -> None:
        """End every connection (the per-connection sshd processes) as a network failure would,
        the listener staying: the next connection succeeds."""
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.process.pid).children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()

    def stop(self) -> None:
        self.kill_connections()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sshd(tmp: Path) -> SshServer:
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / name)],
                       check=True, capture_output=True)
    (tmp / "authorized_keys").write_text((tmp / "client_key.pub").read_text())
    if os.getuid() == 0:  # as root, sshd wants its privilege separation folder
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    last = ""
    for _attempt in range(5):  # (another process may take the free port first)
        port = _free_port()
        config = tmp / "sshd_config"
        config.write_text(f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {tmp / 'host_key'}
PidFile {tmp / 'sshd.pid'}
AuthorizedKeysFile {tmp / 'authorized_keys'}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowTcpForwarding no
X11Forwarding no
""")
        host_key = (tmp / "host_key.pub").read_text().split()[:2]
        (tmp / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
        client = tmp / "ssh_config"
        alias = "agentdeck-test-remote"
        client.write_text(f"""\
Host {alias}
  HostName 127.0.0.1
  Port {port}
  User {getpass.getuser()}
  IdentityFile {tmp / 'client_key'}
  IdentitiesOnly yes
  UserKnownHostsFile {tmp / 'known_hosts'}
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
  ControlMaster no
""")
        log = tmp / "sshd.log"
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config), "-E", str(log)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        server = SshServer(port, alias, client, proc, log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            probe = subprocess.run(["ssh", "-F", str(client), alias, "true"],
                                   capture_output=True, timeout=30)
            if probe.returncode == 0:
                return server
            time.sleep(0.1)  # (polling for the listener to answer)
        last = log.read_text() if log.exists() else ""
        server.stop()
    raise RuntimeError(f"sshd did not start: {last.strip()[-500:]}")
