"""rsyslog (Debian's rsyslogd) as the lab's central log sink: it takes lines over TCP and
writes each as it came to a file, as the telemetry role's sink does (docs/telemetry.md).
`start` runs it with any process starter; `in_lab_host` runs it in a lab host on the syslog
port that the lab's firewall opens to the app hosts."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshfabric.lab.firewall import SYSLOG_PORT
from meshfabric.lab.lab import LabHost, Start
from meshfabric.lab.ssh import listens

READY_SECONDS = 10

CONFIG = """\
global(workDirectory="{directory}")
module(load="imtcp")
template(name="asReceived" type="string" string="%rawmsg%\\n")
ruleset(name="sink") {{
  action(type="omfile" file="{received}" template="asReceived")
}}
input(type="imtcp" address="{address}" port="{port}" ruleset="sink")
"""


@dataclass(frozen=True)
class LogSink:
    address: str  # host:port, as a MeshAccessLog Tcp backend names it
    received: Path
    process: subprocess.Popen[Any]

    def lines(self) -> list[str]:
        return self.received.read_text().splitlines() if self.received.exists() else []

    def stop(self) -> None:
        """End it by its PID."""
        self.process.terminate()
        self.process.wait(10)


def start(directory: Path, address: str, port: int, begin: Start = subprocess.Popen) -> LogSink:
    """rsyslogd in the foreground with its own config and PID file in `directory`, started
    with `begin` (Popen's arguments); returns once it listens."""
    directory.mkdir(parents=True, exist_ok=True)
    received = directory / "received.log"
    config = directory / "rsyslog.conf"
    config.write_text(
        CONFIG.format(directory=directory, received=received, address=address, port=port)
    )
    argv = ["rsyslogd", "-n", "-f", str(config), "-i", str(directory / "rsyslogd.pid")]
    with (directory / "rsyslogd.log").open("ab") as log:
        process = begin(argv, stdout=log, stderr=log)
    sink = LogSink(f"{address}:{port}", received, process)
    deadline = time.monotonic() + READY_SECONDS
    while not listens(process.pid, port):  # in the namespace it runs in, whichever that is
        if process.poll() is not None or time.monotonic() > deadline:
            sink.stop()
            raise RuntimeError(f"rsyslogd did not listen on {sink.address} (see {directory})")
        time.sleep(0.05)
    return sink


def in_lab_host(host: LabHost, directory: Path) -> LogSink:
    """rsyslogd in `host`, taking lines on the lab's syslog port at the host's address."""
    return start(directory, host.address, SYSLOG_PORT, host.popen)
