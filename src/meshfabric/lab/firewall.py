"""The nftables ruleset of a zone's router: the firewall an operator would put at a VPC's edge.

Forwarding is denied by default. What crosses a zone's edge, in either direction:
- KDS (TCP 5685) from zone control planes to the global control plane;
- TCP 10001 to another zone's ingress, from any host of the zone (sidecars dial remote
  ingresses directly), or only from the zone's egress hosts when the mesh requires zoneEgress;
- TCP 5670, Kuma's MeshMetric port, from the monitoring host (global's control-plane host,
  where Prometheus scrapes every zone through global's discovery endpoint) to the app hosts;
- TCP 5680, the control planes' diagnostics (metrics) port, from the monitoring host to the
  zones' control planes;
- TCP 4317, OTLP over gRPC, from the app hosts to the monitoring host, where a trace store
  takes the spans of every zone's sidecars;
- TCP 514, syslog, from the app hosts to the monitoring host, where a log sink takes the
  access-log lines of every zone's sidecars (sent by each proxy's meshfabric-dp);
- replies (established/related).
The router itself accepts nothing from the network. Traffic inside a zone's LAN never reaches
the router, so it is not filtered, as within a VPC subnet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from meshfabric.lab.topology import Plan, PlannedZone, Role

KDS_PORT = 5685
INGRESS_PORT = 10001
METRICS_PORT = 5670
DIAGNOSTICS_PORT = 5680
OTLP_PORT = 4317
SYSLOG_PORT = 514
LAN_INTERFACE = "lan"
WAN_INTERFACE = "wan"
TABLE = "meshfabric_lab"

_ZONE_CONTROL_PLANES = (Role.ZONE_CONTROL_PLANE,)
_GLOBAL_CONTROL_PLANES = (Role.GLOBAL_CONTROL_PLANE,)
_INGRESSES = (Role.INGRESS,)
_MONITORING = (Role.GLOBAL_CONTROL_PLANE,)
_SCRAPED = (Role.APP,)


_Addresses = Sequence[ipaddress.IPv4Address | ipaddress.IPv4Network]


def _set(addresses: _Addresses) -> str:
    return "{ " + ", ".join(str(address) for address in addresses) + " }"


def _ingress_clients(zone: PlannedZone, plan: Plan) -> _Addresses:
    """Who in `zone` may open a connection to another zone's ingress: nobody in a zone with
    no data plane (the global zone), else the egresses or the whole LAN."""
    if not zone.addresses(Role.APP, Role.EGRESS):
        return []
    if plan.zone_egress:
        return zone.addresses(Role.EGRESS)
    return [zone.lan]


def _rule(direction: str, sources: _Addresses, destinations: _Addresses, port: int) -> str | None:
    if not sources or not destinations:
        return None
    inbound, outbound = (
        (WAN_INTERFACE, LAN_INTERFACE) if direction == "in" else (LAN_INTERFACE, WAN_INTERFACE)
    )
    return (
        f'iifname "{inbound}" oifname "{outbound}" ip saddr {_set(sources)} '
        f"ip daddr {_set(destinations)} tcp dport {port} accept"
    )


def _forward_rules(zone: PlannedZone, plan: Plan) -> list[str]:
    others = [other for other in plan.zones if other is not zone]

    def gather(roles: tuple[Role, ...]) -> list[ipaddress.IPv4Address]:
        return [address for other in others for address in other.addresses(*roles)]

    def across(
        sources: tuple[Role, ...], destinations: tuple[Role, ...], port: int
    ) -> list[str | None]:
        """`sources` in one zone to `destinations` in another, seen from this zone's edge."""
        return [
            _rule("out", zone.addresses(*sources), gather(destinations), port),
            _rule("in", gather(sources), zone.addresses(*destinations), port),
        ]

    rules = [
        *across(_ZONE_CONTROL_PLANES, _GLOBAL_CONTROL_PLANES, KDS_PORT),
        _rule("out", _ingress_clients(zone, plan), gather(_INGRESSES), INGRESS_PORT),
        _rule(
            "in",
            [client for other in others for client in _ingress_clients(other, plan)],
            zone.addresses(*_INGRESSES),
            INGRESS_PORT,
        ),
        *across(_MONITORING, _SCRAPED, METRICS_PORT),
        *across(_MONITORING, _ZONE_CONTROL_PLANES, DIAGNOSTICS_PORT),
        *across(_SCRAPED, _MONITORING, OTLP_PORT),
        *across(_SCRAPED, _MONITORING, SYSLOG_PORT),
    ]
    return [rule for rule in rules if rule is not None]


def router_ruleset(zone: PlannedZone, plan: Plan) -> str:
    """A complete ruleset for `nft -f`, loaded into the router's own namespace."""
    forward = "\n".join(f"        {rule}" for rule in _forward_rules(zone, plan))
    return f"""\
# Router of zone {zone.name} in lab {plan.lab_id} (zoneEgress required: {plan.zone_egress}).
table inet {TABLE} {{
    chain forward {{
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
{forward}
    }}
    chain input {{
        type filter hook input priority filter; policy drop;
        iif "lo" accept
        ct state established,related accept
    }}
}}
"""
