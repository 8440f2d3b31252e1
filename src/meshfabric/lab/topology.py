"""What a lab is made of: zones, their hosts and roles, and the address plan derived from them.

A topology only names zones and hosts; `plan` turns it into addresses and namespace names.
Every zone is one /24 (its LAN, like a cloud VPC subnet) behind one router; the routers meet
on the WAN. The global control plane lives in a zone of its own called `global`, behind its
own router, as it would in its own VPC.

Addresses (all private, and routed only inside the lab's own namespaces): zone number N (in
topology order, `global` first in kong-air) has the LAN 10.10.N.0/24, its router at .1 and
its hosts from .10 on; the WAN is 10.255.0.0/24 with zone N's router at 10.255.0.(N+1).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from enum import StrEnum

GLOBAL_ZONE = "global"
WAN_NETWORK = ipaddress.IPv4Network("10.255.0.0/24")
_FIRST_LAN = ipaddress.IPv4Address("10.10.0.0")
_FIRST_HOST_OFFSET = 10
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")
ROUTER = "router"
_RESERVED_HOST_NAMES = frozenset({ROUTER})
_MAX_ZONES = 200


class LabError(Exception):
    """Something the user should read: bad input, a missing tool, or a step of `up` that failed."""


class Role(StrEnum):
    GLOBAL_CONTROL_PLANE = "global-control-plane"
    ZONE_CONTROL_PLANE = "zone-control-plane"
    INGRESS = "ingress"
    EGRESS = "egress"
    APP = "app"


@dataclass(frozen=True)
class HostSpec:
    name: str
    role: Role


@dataclass(frozen=True)
class ZoneSpec:
    name: str
    hosts: tuple[HostSpec, ...]


@dataclass(frozen=True)
class Topology:
    """Zones and hosts. `zone_egress` mirrors `Mesh.routing.zoneEgress: true`: only a zone's
    egress hosts may open connections to other zones' ingresses."""

    name: str
    zones: tuple[ZoneSpec, ...]
    zone_egress: bool = False

    def with_zone_egress(self, required: bool) -> Topology:
        return replace(self, zone_egress=required)


def _zone(name: str, *apps: str) -> ZoneSpec:
    return ZoneSpec(
        name,
        (
            HostSpec("control-plane", Role.ZONE_CONTROL_PLANE),
            HostSpec("ingress", Role.INGRESS),
            HostSpec("egress", Role.EGRESS),
            *(HostSpec(app, Role.APP) for app in apps),
        ),
    )


KONG_AIR = Topology(
    "kong-air",
    (
        ZoneSpec(GLOBAL_ZONE, (HostSpec("control-plane", Role.GLOBAL_CONTROL_PLANE),)),
        _zone("us-east-1", "flight-control-1", "client-1"),
        _zone("eu-west-1", "flight-control-1", "flight-control-2"),
    ),
)

TOPOLOGIES = {KONG_AIR.name: KONG_AIR}


def named(name: str) -> Topology:
    try:
        return TOPOLOGIES[name]
    except KeyError:
        known = ", ".join(sorted(TOPOLOGIES))
        raise LabError(f"topology: unknown topology {name!r} (known: {known})") from None


@dataclass(frozen=True)
class PlannedHost:
    zone: str
    name: str
    role: Role
    address: ipaddress.IPv4Address
    namespace: str

    @property
    def key(self) -> str:
        """How the Python API and `meshfabric-lab exec` name a host: `zone/name`."""
        return f"{self.zone}/{self.name}"

    @property
    def inventory_name(self) -> str:
        """The Ansible inventory hostname: `name.zone` (a slash has no place in a host pattern)."""
        return f"{self.name}.{self.zone}"


@dataclass(frozen=True)
class PlannedZone:
    name: str
    index: int
    lan: ipaddress.IPv4Network
    router_lan_address: ipaddress.IPv4Address
    router_wan_address: ipaddress.IPv4Address
    router_namespace: str
    hosts: tuple[PlannedHost, ...]

    def addresses(self, *roles: Role) -> list[ipaddress.IPv4Address]:
        return [host.address for host in self.hosts if host.role in roles]


@dataclass(frozen=True)
class Plan:
    """Every name and address `up` creates, known before anything is created."""

    lab_id: str
    topology: str
    zone_egress: bool
    fabric_namespace: str
    zones: tuple[PlannedZone, ...]

    @property
    def hosts(self) -> list[PlannedHost]:
        return [host for zone in self.zones for host in zone.hosts]

    @property
    def namespaces(self) -> list[str]:
        """In creation order: the fabric first (it holds the bridges), then each zone's router
        and hosts."""
        names = [self.fabric_namespace]
        for zone in self.zones:
            names += [zone.router_namespace, *(host.namespace for host in zone.hosts)]
        return names


def namespace_prefix(lab_id: str) -> str:
    """Every namespace of one lab starts with this; nothing else on the machine does."""
    return f"mflab-{lab_id}-"


def validate(topology: Topology) -> None:
    """Raise LabError naming the first bad field, before anything is created."""
    zone_names = [zone.name for zone in topology.zones]
    if not 1 < len(zone_names) <= _MAX_ZONES:
        raise LabError(f"topology.zones: between 2 and {_MAX_ZONES} zones, got {len(zone_names)}")
    if len(set(zone_names)) != len(zone_names):
        raise LabError("topology.zones: zone names must be unique")
    global_hosts = 0
    for zone in topology.zones:
        _validate_zone(zone)
        global_hosts += sum(host.role is Role.GLOBAL_CONTROL_PLANE for host in zone.hosts)
    if global_hosts == 0:
        raise LabError("topology.zones: no host has the role global-control-plane")


def _validate_zone(zone: ZoneSpec) -> None:
    field = f"topology.zones[{zone.name}]"
    if not _NAME.match(zone.name):
        raise LabError(f"{field}.name: lower-case letters, digits and '-', at most 32 characters")
    names = [host.name for host in zone.hosts]
    if not names or len(names) > 240:
        raise LabError(f"{field}.hosts: between 1 and 240 hosts, got {len(names)}")
    if len(set(names)) != len(names):
        raise LabError(f"{field}.hosts: host names must be unique within a zone")
    for host in zone.hosts:
        if not _NAME.match(host.name) or host.name in _RESERVED_HOST_NAMES:
            raise LabError(
                f"{field}.hosts[{host.name}].name: lower-case letters, digits and '-', "
                "at most 32 characters, and not 'router'"
            )
        if (host.role is Role.GLOBAL_CONTROL_PLANE) != (zone.name == GLOBAL_ZONE):
            raise LabError(
                f"{field}.hosts[{host.name}].role: global-control-plane hosts go in the "
                f"{GLOBAL_ZONE!r} zone and only there"
            )


def plan(topology: Topology, lab_id: str) -> Plan:
    validate(topology)
    prefix = namespace_prefix(lab_id)
    zones = []
    for index, zone in enumerate(topology.zones):
        lan = ipaddress.IPv4Network(f"{_FIRST_LAN + (index << 8)}/24")
        hosts = tuple(
            PlannedHost(
                zone.name,
                host.name,
                host.role,
                lan[_FIRST_HOST_OFFSET + number],
                f"{prefix}{host.name}.{zone.name}",
            )
            for number, host in enumerate(zone.hosts)
        )
        zones.append(
            PlannedZone(
                zone.name,
                index,
                lan,
                lan[1],
                WAN_NETWORK[index + 1],
                f"{prefix}{ROUTER}.{zone.name}",
                hosts,
            )
        )
    return Plan(lab_id, topology.name, topology.zone_egress, f"{prefix}fabric", tuple(zones))
