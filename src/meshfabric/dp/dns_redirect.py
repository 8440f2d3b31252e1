"""Send the host's DNS queries to the sidecar's DNS listener, so that an application
resolves the mesh's hostnames with nothing configured.

An nftables rule in this network namespace redirects every UDP packet a local process sends
to port 53, whatever the nameserver, to the DNS listener's port on 127.0.0.1. Envoy answers
the mesh's names and resolves any other as the host would, asking the host's nameservers
over TCP, which the rule leaves alone (`meshfabric.xds.generate.dns`). It needs
CAP_NET_ADMIN and the `nft` command. Sidecars sharing the namespace share the rule
(`meshfabric.dp.netns`): the first one's listener answers, and the last one to stop removes
it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from meshfabric.dp.netns import RUN_DIR, HostChangeFailed, held, run_tool

log = logging.getLogger(__name__)

TABLE = "meshfabric_dp_dns"
# Local redirection lands on 127.0.0.1 (or anything bound to every address).
REDIRECTABLE = ("127.0.0.1", "0.0.0.0")


def ruleset(port: int) -> str:
    """The table, replaced as a whole in one transaction (creating it first if absent)."""
    return (
        f"add table ip {TABLE}\n"
        f"delete table ip {TABLE}\n"
        f"table ip {TABLE} {{\n"
        "  chain output {\n"
        "    type nat hook output priority -100; policy accept;\n"
        f"    udp dport 53 redirect to :{port}\n"
        "  }\n"
        "}\n"
    )


@asynccontextmanager
async def dns_redirect(port: int, run_dir: Path = RUN_DIR) -> AsyncIterator[None]:
    """Redirect the namespace's UDP DNS queries to 127.0.0.1:`port` while the block runs."""

    async def add() -> None:
        await run_tool("nft", "-f", "-", stdin=ruleset(port).encode())
        log.info("DNS queries of this host go to the sidecar's DNS listener on port %d", port)

    async def remove() -> None:
        try:
            await run_tool("nft", "delete", "table", "ip", TABLE)
        except HostChangeFailed as problem:
            log.warning("could not remove the DNS redirect: %s", problem)

    async with held("dns", add, remove, run_dir):
        yield
