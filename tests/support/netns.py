"""Network namespaces for tests: created with unique names, joined by veth pairs, deleted
afterwards. Code runs inside one in a thread that has joined it (sockets stay in the
namespace they were created in), processes through `ip netns exec`."""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
import uuid
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Namespace:
    def __init__(self, prefix: str) -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        _ip("netns", "add", self.name)
        _ip("-n", self.name, "link", "set", "lo", "up")

    def delete(self) -> None:
        _ip("netns", "del", self.name)

    def command(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, work: Callable[[], T]) -> T:
        """work() in a thread that has joined this namespace; its result or its exception."""
        outcome: list[T] = []
        failure: list[BaseException] = []

        def inside() -> None:
            try:
                fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
                try:
                    if _libc.setns(fd, _CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), f"setns {self.name}")
                finally:
                    os.close(fd)
                outcome.append(work())
            except BaseException as problem:  # handed to the calling thread
                failure.append(problem)

        thread = threading.Thread(target=inside)
        thread.start()
        thread.join()
        if failure:
            raise failure[0]
        return outcome[0]


def link(a: Namespace, a_address: str, b: Namespace, b_address: str, prefix_len: int) -> None:
    """A veth pair between two namespaces, with an address on each end."""
    suffix = uuid.uuid4().hex[:6]
    a_end, b_end = f"mfa{suffix}", f"mfb{suffix}"
    _ip(
        "link",
        "add",
        a_end,
        "netns",
        a.name,
        "type",
        "veth",
        "peer",
        "name",
        b_end,
        "netns",
        b.name,
    )
    for namespace, end, address in ((a, a_end, a_address), (b, b_end, b_address)):
        _ip("-n", namespace.name, "addr", "add", f"{address}/{prefix_len}", "dev", end)
        _ip("-n", namespace.name, "link", "set", end, "up")
