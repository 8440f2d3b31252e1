"""A real rsyslog (Debian's rsyslogd) as a central log sink: it takes lines over TCP on a free
port of 127.0.0.1 and writes each as it came to a file."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port, wait_until

CONFIG = """\
global(workDirectory="{directory}")
module(load="imtcp")
template(name="asReceived" type="string" string="%rawmsg%\\n")
ruleset(name="sink") {{
  action(type="omfile" file="{received}" template="asReceived")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="sink")
"""


@dataclass(frozen=True)
class Rsyslog:
    port: int
    received: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return self.received.read_text().splitlines() if self.received.exists() else []


@contextmanager
def rsyslog(directory: Path) -> Iterator[Rsyslog]:
    """rsyslogd in the foreground with its own config and PID file, ended by its PID."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    sink = Rsyslog(port, directory / "received.log")
    config = directory / "rsyslog.conf"
    config.write_text(CONFIG.format(directory=directory, received=sink.received, port=port))
    log = (directory / "rsyslogd.log").open("ab")
    process = subprocess.Popen(
        ["rsyslogd", "-n", "-f", str(config), "-i", str(directory / "rsyslogd.pid")],
        stdout=log,
        stderr=log,
    )
    try:
        wait_until(lambda: _listening(port, process), 10, f"rsyslogd on port {port}")
        yield sink
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _listening(port: int, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"rsyslogd exited with {process.returncode}")
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
