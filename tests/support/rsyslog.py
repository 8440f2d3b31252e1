"""A real rsyslog (Debian's rsyslogd) as a central log sink for tests: it takes lines over TCP
on a free port of 127.0.0.1 and writes each as it came to a file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshfabric.lab import log_sink
from meshfabric.lab.log_sink import LogSink
from tests.support.net import free_port


@contextmanager
def rsyslog(directory: Path) -> Iterator[LogSink]:
    """rsyslogd on a free loopback port, ended by its PID."""
    sink = log_sink.start(directory, "127.0.0.1", free_port())
    try:
        yield sink
    finally:
        sink.stop()
