"""The mesh's firewall as data, and the security groups that enforce it.

Who may open a connection to whom (docs/pulumi.md has the same table):

| host role            | port      | from                                             |
| -------------------- | --------- | ------------------------------------------------ |
| every VM             | 22        | the admin CIDR (app hosts: the zone control plane) |
| global control plane | 5681      | the admin CIDR                                   |
| global control plane | 5685      | each zone control plane's public address         |
| zone control plane   | 5681      | the admin CIDR                                   |
| zone control plane   | 5678      | the zone's ingress, egress and app hosts         |
| zone control plane   | 5676      | the zone's VPC (Prometheus service discovery)    |
| zone ingress         | 10001     | other zones' ingress and egress addresses        |
| zone egress          | 10002     | the zone's app hosts                             |
| app host             | 1-65535   | the zone's VPC (sidecar-to-sidecar, ingress)     |

Outbound traffic is open: hosts reach the global control plane, other zones'
ingresses and package mirrors. Nothing else is reachable from 0.0.0.0/0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from meshfabric_aws import ports
from meshfabric_aws.tags import HostRole, mesh_tags


@dataclass(frozen=True)
class Peer:
    """Traffic from the hosts of a role in the same zone (a security-group reference)."""

    role: HostRole


Source = pulumi.Input[str] | Peer


@dataclass(frozen=True)
class Rule:
    """Allow TCP to `ports` (first, last) from `source`; `why` becomes the rule description."""

    ports: tuple[int, int]
    source: Source
    why: str


@dataclass(frozen=True)
class FirewallInputs:
    """Parameters:

    - admin_cidr: where operators (SSH, REST API) connect from.
    - vpc_cidr: the zone's own range.
    - ingress_sources: /32s of other zones' ingresses and egresses.
    - kds_sources: /32s of all zone control planes (only used for the global control plane).
    """

    admin_cidr: str
    vpc_cidr: str
    ingress_sources: Sequence[pulumi.Input[str]] = ()
    kds_sources: Sequence[pulumi.Input[str]] = ()


def _port(port: int) -> tuple[int, int]:
    return (port, port)


def rules_for(role: HostRole, inputs: FirewallInputs) -> list[Rule]:
    """The inbound rules of one host role."""
    admin = inputs.admin_cidr
    if role == "dataplane":
        # App hosts have no public address: SSH goes through the zone
        # control plane as a jump host.
        return [
            Rule(_port(ports.SSH), Peer("zone_control_plane"), "ssh via the zone control plane"),
            Rule((1, 65535), inputs.vpc_cidr, "mesh traffic from sidecars and the zone ingress"),
        ]
    ssh = Rule(_port(ports.SSH), admin, "ssh from the admin network")
    if role == "global_control_plane":
        return [
            ssh,
            Rule(_port(ports.REST_API), admin, "REST API from the admin network"),
            *(Rule(_port(ports.KDS), zone_cp, "KDS from a zone") for zone_cp in inputs.kds_sources),
        ]
    if role == "zone_control_plane":
        return [
            ssh,
            Rule(_port(ports.REST_API), admin, "REST API from the admin network"),
            *(
                Rule(_port(ports.XDS), Peer(peer), f"xDS from {peer}")
                for peer in ("zone_ingress", "zone_egress", "dataplane")
            ),
            Rule(_port(ports.MONITORING_ASSIGNMENTS), inputs.vpc_cidr, "monitoring assignments"),
        ]
    if role == "zone_ingress":
        return [
            ssh,
            *(
                Rule(_port(ports.ZONE_INGRESS), peer, "cross-zone traffic")
                for peer in inputs.ingress_sources
            ),
        ]
    return [ssh, Rule(_port(ports.ZONE_EGRESS), Peer("dataplane"), "egress from app hosts")]


@dataclass(frozen=True)
class ZoneFirewallArgs:
    """Parameters:

    - zone: the zone name used in tags (`global` for the global control plane).
    - vpc_id: the VPC the security groups belong to.
    - roles: the host roles that get a security group.
    - inputs: the addresses the rules refer to.
    """

    zone: str
    vpc_id: pulumi.Input[str]
    roles: Sequence[HostRole]
    inputs: FirewallInputs


class ZoneFirewall(pulumi.ComponentResource):
    """One security group per host role, with exactly the rules of `rules_for`."""

    groups: dict[HostRole, aws.ec2.SecurityGroup]

    def __init__(
        self, name: str, args: ZoneFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshfabric:aws:ZoneFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.groups = {
            role: aws.ec2.SecurityGroup(
                f"{name}-{role}",
                vpc_id=args.vpc_id,
                description=f"meshfabric {args.zone} {role}",
                tags=mesh_tags(args.zone, role, f"{name}-{role}"),
                opts=child,
            )
            for role in args.roles
        }
        for role, group in self.groups.items():
            tags = mesh_tags(args.zone, role, f"{name}-{role}")
            for index, rule in enumerate(rules_for(role, args.inputs)):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{role}-in-{index}",
                    security_group_id=group.id,
                    ip_protocol="tcp",
                    from_port=rule.ports[0],
                    to_port=rule.ports[1],
                    description=rule.why,
                    tags=tags,
                    opts=child,
                    **self._source(rule.source),
                )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-{role}-out",
                security_group_id=group.id,
                ip_protocol="-1",
                cidr_ipv4="0.0.0.0/0",
                description="all outbound",
                tags=tags,
                opts=child,
            )
        self.register_outputs({role: group.id for role, group in self.groups.items()})

    def _source(self, source: Source) -> dict[str, pulumi.Input[str]]:
        if isinstance(source, Peer):
            return {"referenced_security_group_id": self.groups[source.role].id}
        return {"cidr_ipv4": source}
