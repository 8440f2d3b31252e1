"""Namespaces, bridges, veths, addresses and routes, over netlink (pyroute2).

Nothing is created in the machine's own network namespace: the bridges (one per zone LAN,
one for the WAN) live in the lab's `fabric` namespace, and every veth pair has one end there
and the other in a host's or router's namespace. Deleting the lab's namespaces therefore
deletes every link the lab made.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from pyroute2 import NetNS, netns

from meshfabric.lab.firewall import LAN_INTERFACE, WAN_INTERFACE
from meshfabric.lab.topology import WAN_NETWORK, LabError, Plan, PlannedZone

HOST_INTERFACE = "eth0"
WAN_BRIDGE = "wan"


def _lan_bridge(zone: PlannedZone) -> str:
    return f"lan{zone.index}"


def require_absent(names: list[str]) -> None:
    """Checked before the lab records any name as its own: a namespace that already exists
    belongs to someone else and must never be reused or removed."""
    taken = sorted(set(names) & set(netns.listnetns()))
    if taken:
        raise LabError(f"network namespaces already exist: {', '.join(taken)}")


def create_namespace(name: str) -> None:
    netns.create(name)


def remove_namespace(name: str) -> None:
    if name in netns.listnetns():
        netns.remove(name)


def lab_namespaces(prefix: str) -> list[str]:
    return sorted(name for name in netns.listnetns() if name.startswith(prefix))


def namespace_pids(name: str) -> list[int]:
    """Every process whose network namespace is `name`."""
    return [int(pid) for pid in netns.ns_pids().get(name, [])]


def build_fabric(plan: Plan) -> None:
    """The bridges: the WAN and one LAN per zone, all inside the fabric namespace."""
    with NetNS(plan.fabric_namespace) as fabric:
        _up(fabric, "lo")
        for bridge in [WAN_BRIDGE, *(_lan_bridge(zone) for zone in plan.zones)]:
            fabric.link("add", ifname=bridge, kind="bridge")
            _up(fabric, bridge)


def _up(ns: NetNS, ifname: str) -> int:
    index = int(ns.link_lookup(ifname=ifname)[0])
    ns.link("set", index=index, state="up")
    return index


def _plug(plan: Plan, bridge: str, fabric_end: str, namespace: str, inner_end: str) -> None:
    """A veth from `bridge` in the fabric to `inner_end` in `namespace`."""
    with NetNS(plan.fabric_namespace) as fabric:
        fabric.link(
            "add",
            ifname=fabric_end,
            kind="veth",
            peer={"ifname": inner_end, "net_ns_fd": namespace},
        )
        master = int(fabric.link_lookup(ifname=bridge)[0])
        index = int(fabric.link_lookup(ifname=fabric_end)[0])
        fabric.link("set", index=index, master=master, state="up")


def _address(ns: NetNS, ifname: str, address: ipaddress.IPv4Address, prefixlen: int) -> None:
    index = _up(ns, ifname)
    ns.addr("add", index=index, address=str(address), prefixlen=prefixlen)


def build_router(plan: Plan, zone: PlannedZone, ruleset: Path) -> None:
    """The zone's router: a LAN leg, a WAN leg, routes to the other zones, forwarding on, and
    the firewall loaded before forwarding is switched on, so nothing passes unfiltered."""
    _plug(plan, _lan_bridge(zone), f"r{zone.index}l", zone.router_namespace, LAN_INTERFACE)
    _plug(plan, WAN_BRIDGE, f"r{zone.index}w", zone.router_namespace, WAN_INTERFACE)
    with NetNS(zone.router_namespace) as router:
        _up(router, "lo")
        _address(router, LAN_INTERFACE, zone.router_lan_address, zone.lan.prefixlen)
        _address(router, WAN_INTERFACE, zone.router_wan_address, WAN_NETWORK.prefixlen)
        for other in plan.zones:
            if other is not zone:
                router.route("add", dst=str(other.lan), gateway=str(other.router_wan_address))
    run_in(zone.router_namespace, ["nft", "-f", str(ruleset)])
    run_in(zone.router_namespace, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])


def build_host(plan: Plan, zone: PlannedZone, number: int) -> None:
    """A host on its zone's LAN, its only route out through the zone's router."""
    host = zone.hosts[number]
    _plug(plan, _lan_bridge(zone), f"h{zone.index}-{number}", host.namespace, HOST_INTERFACE)
    with NetNS(host.namespace) as ns:
        _up(ns, "lo")
        _address(ns, HOST_INTERFACE, host.address, zone.lan.prefixlen)
        ns.route("add", dst="default", gateway=str(zone.router_lan_address))


def run_in(namespace: str, argv: list[str]) -> None:
    """Run a short configuration command inside `namespace`; its error output becomes the
    LabError's message."""
    completed = subprocess.run(
        ["ip", "netns", "exec", namespace, *argv], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        output = completed.stderr.strip() or completed.stdout.strip()
        raise LabError(f"{' '.join(argv)} in {namespace} failed: {output}")
