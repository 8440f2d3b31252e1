"""sshd in every host: generated keys, one config per host, readiness read from /proc.

The machine's own sshd and its keys are never used: each host gets its own Ed25519 host key
and every host trusts one client key, both written under the lab's state directory. The
client reaches a host's sshd through its namespace (`ip netns exec NS nc ADDRESS 22` as the
ssh ProxyCommand), so the machine's own network namespace needs no route to the lab.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshfabric.files import write_private
from meshfabric.lab.topology import LabError, PlannedHost

SSH_PORT = 22
SSHD = "/usr/sbin/sshd"
# sshd refuses to start without its privilege-separation directory, which the Debian
# package's init script would otherwise create.
_PRIVSEP_DIR = Path("/run/sshd")
_READY_TIMEOUT_S = 10.0
_TCP_LISTEN = "0A"


def generate_key(private_path: Path, comment: str) -> str:
    """Write an Ed25519 key pair (OpenSSH formats); return the public key line."""
    key = Ed25519PrivateKey.generate()
    write_private(
        private_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    line = f"{public.decode()} {comment}\n"
    private_path.with_name(private_path.name + ".pub").write_text(line)
    return line


def sshd_config(host: PlannedHost, host_key: Path, authorized_keys: Path) -> str:
    return f"""\
ListenAddress {host.address}:{SSH_PORT}
HostKey {host_key}
AuthorizedKeysFile {authorized_keys}
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
# The state directory may sit under /tmp, whose mode strict checking refuses.
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def start_sshd(host: PlannedHost, config: Path, log: Path) -> subprocess.Popen[bytes]:
    _PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    with log.open("ab") as log_file:
        return subprocess.Popen(
            ["ip", "netns", "exec", host.namespace, SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )


def wait_listening(process: subprocess.Popen[bytes], host: PlannedHost, log: Path) -> None:
    """Wait until sshd listens, reading the TCP table of its own namespace (/proc/PID/net)."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"sshd in {host.key} exited ({process.returncode}): {log.read_text()}")
        if listens(process.pid, SSH_PORT):
            return
        time.sleep(0.01)
    raise LabError(f"sshd in {host.key} did not listen within {_READY_TIMEOUT_S:.0f} s")


def listens(pid: int, port: int) -> bool:
    """Whether a TCP socket listens on `port` in the network namespace of process `pid`."""
    try:
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    for row in table:
        local, state = row.split()[1], row.split()[3]
        if state == _TCP_LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
            return True
    return False


def known_hosts_line(host: PlannedHost, public_key_line: str) -> str:
    key_type, key = public_key_line.split()[:2]
    return f"{host.address} {key_type} {key}\n"


def proxy_command(host: PlannedHost) -> str:
    return f"ip netns exec {host.namespace} nc %h %p"


def client_config(hosts: list[PlannedHost], client_key: Path, known_hosts: Path) -> str:
    """An ssh_config naming every host as the inventory does."""
    entries = [
        f"Host {host.inventory_name}\n"
        f"    HostName {host.address}\n"
        f"    ProxyCommand {proxy_command(host)}\n"
        for host in hosts
    ]
    return "".join(entries) + (
        "Host *\n"
        "    User root\n"
        f"    IdentityFile {client_key}\n"
        "    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {known_hosts}\n"
        "    StrictHostKeyChecking yes\n"
    )
