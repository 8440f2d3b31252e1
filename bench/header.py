"""The first lines of every benchmark's output: what ran, when, on which machine and code.

Saved runs under bench/results/ are quoted in docs, so each must say where it came from.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def print_header() -> None:
    """Print the command line, the date, the commit and the machine, then a blank line."""
    command = shlex.join([Path(sys.executable).name, "-m", _module(), *sys.argv[1:]])
    print(f"$ {command}")
    print(f"# date: {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}  commit: {_commit()}")
    print(f"# machine: {_machine()}")
    print(flush=True)


def _module() -> str:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    return spec.name if spec is not None else Path(sys.argv[0]).stem


def _commit() -> str:
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip()


def _machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, "
        f"{_os_name()}, Python {platform.python_version()}"
    )


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip('"')
    except OSError:
        pass
    return platform.system()
