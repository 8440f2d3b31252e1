"""Forward the access-log lines of MeshAccessLog's Tcp backends, as kuma-dp does.

Envoy has no TCP access logger: its file logger writes each line, as JSON
`{"address": ..., "message": ...}`, to a FIFO that this process made and names in its node
metadata. Each message goes on as one line over a TCP connection to its address (kept open,
reopened when it breaks). A line for an address that cannot be reached is dropped, and
logged: Envoy's logging must never wait on a sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from meshfabric.dp.background import in_background

log = logging.getLogger(__name__)

SYSLOG_PORT = 514  # an address without a port
CONNECT_SECONDS = 2.0
WRITE_SECONDS = 2.0
MAX_LINE = 1 << 20


def host_and_port(address: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port`, `host`, or any of them after a scheme (`tcp://`)."""
    parsed = urllib.parse.urlsplit(address if "://" in address else f"//{address}")
    return parsed.hostname or address, parsed.port or SYSLOG_PORT


class Forwarder:
    """Sends each message to its address, one connection per address."""

    def __init__(self) -> None:
        self._connections: dict[str, asyncio.StreamWriter] = {}

    async def run(self, lines: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await lines.readline()
            except ValueError:  # longer than MAX_LINE: the rest of it is dropped
                log.warning("access-log line longer than %d bytes dropped", MAX_LINE)
                continue
            if not line:
                return
            await self.forward(line)

    async def forward(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
            address, message = entry["address"], entry["message"]
        except (ValueError, KeyError, TypeError):
            log.warning("not an access-log line for a Tcp backend: %r", line[:200])
            return
        text = message if isinstance(message, str) else json.dumps(message)
        await self.send(str(address), text)

    async def send(self, address: str, text: str) -> None:
        try:
            writer = await self._connection(address)
            writer.write(text.encode() + b"\n")
            await asyncio.wait_for(writer.drain(), WRITE_SECONDS)
        except (OSError, TimeoutError) as problem:
            log.warning("access-log line to %s dropped: %s", address, problem or "timed out")
            self._close(address)

    async def _connection(self, address: str) -> asyncio.StreamWriter:
        found = self._connections.get(address)
        if found is not None and not found.is_closing():
            return found
        host, port = host_and_port(address)
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_SECONDS)
        self._connections[address] = writer
        return writer

    def _close(self, address: str) -> None:
        writer = self._connections.pop(address, None)
        if writer is not None:
            writer.close()

    def close(self) -> None:
        for address in list(self._connections):
            self._close(address)


@contextlib.asynccontextmanager
async def access_log_forwarder(fifo: Path) -> AsyncIterator[None]:
    """The FIFO at `fifo` (a stale one replaced), read and forwarded while the context lasts."""
    pipe = _fresh_fifo(fifo)
    lines = asyncio.StreamReader(limit=MAX_LINE)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), pipe)
    forwarder = Forwarder()
    try:
        async with in_background(forwarder.run(lines), "access-log-forwarder"):
            yield
    finally:
        transport.close()
        forwarder.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(fifo)


def _fresh_fifo(path: Path) -> BinaryIO:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.mkfifo(path, 0o600)
    # Opened for writing too, so that the FIFO reports no end of file while no Envoy has it
    # open (before it starts, while it restarts), and the open does not wait for a writer.
    return os.fdopen(os.open(path, os.O_RDWR | os.O_NONBLOCK), "rb", buffering=0)
