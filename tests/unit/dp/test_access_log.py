"""meshfabric-dp's forwarder of Tcp access-log lines: from its FIFO to real TCP sinks."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from meshfabric.dp.access_log import access_log_forwarder, host_and_port


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:5140", ("127.0.0.1", 5140)),
        ("syslog.example.com", ("syslog.example.com", 514)),
        ("tcp://[::1]:6000", ("::1", 6000)),
    ],
)
def test_an_address_is_a_host_and_a_port_514_unless_given(
    address: str, expected: tuple[str, int]
) -> None:
    assert host_and_port(address) == expected


async def _sink() -> tuple[asyncio.Server, asyncio.Queue[bytes], str]:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            await received.put(line)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, received, f"127.0.0.1:{port}"


def test_lines_written_to_the_fifo_reach_their_sinks_and_bad_ones_are_skipped(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "access-log.fifo"

    async def scenario() -> list[bytes]:
        first, first_lines, first_address = await _sink()
        second, second_lines, second_address = await _sink()
        async with access_log_forwarder(fifo):
            entries = [
                {"address": first_address, "message": "zone=us-east-1 web->backend 200"},
                "not json",
                {"address": "127.0.0.1:1", "message": "to nowhere"},  # dropped, not fatal
                {"address": second_address, "message": {"zone": "eu-west-1", "status": 200}},
                {"address": first_address, "message": "zone=us-east-1 web->backend 503"},
            ]
            writer = os.open(fifo, os.O_WRONLY)  # as Envoy does
            for entry in entries:
                line = entry if isinstance(entry, str) else json.dumps(entry)
                os.write(writer, line.encode() + b"\n")
            os.close(writer)
            got = [await asyncio.wait_for(first_lines.get(), 10) for _ in range(2)]
            got.append(await asyncio.wait_for(second_lines.get(), 10))
        for server in (first, second):
            server.close()
            await server.wait_closed()
        return got

    assert asyncio.run(scenario()) == [
        b"zone=us-east-1 web->backend 200\n",
        b"zone=us-east-1 web->backend 503\n",
        b'{"zone": "eu-west-1", "status": 200}\n',
    ]
    assert not fifo.exists()
