"""Structured logs: one JSON object per line on stderr, or plain text for people."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from meshfabric.cp.config import LogConfig, LogFormat


def configure(config: LogConfig) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if config.format is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.level.upper())
    # uvicorn's own handlers would print a second, unstructured copy of each line.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
