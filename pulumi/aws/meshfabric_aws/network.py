"""One zone's VPC: public and private subnets across availability zones, NAT, public addresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Literal

import pulumi
import pulumi_aws as aws

from meshfabric_aws.tags import mesh_tags

# The VPC range is cut into sixteen equal blocks: public subnets use the
# first ones, private subnets start at the ninth, whatever the zone count.
_SUBNET_BLOCK_BITS = 4
_FIRST_PRIVATE_BLOCK = 8

Tier = Literal["public", "private"]


@dataclass(frozen=True)
class ZoneNetworkArgs:
    """Parameters:

    - zone: the mesh zone this VPC belongs to.
    - cidr: the VPC range.
    - availability_zones: how many availability zones to spread subnets over.
    - public_hosts: names of the hosts that need a stable public address (an EIP).
    """

    zone: str
    cidr: IPv4Network
    availability_zones: int
    public_hosts: Sequence[str]


def subnet_ranges(cidr: IPv4Network, tier: Tier, count: int) -> list[str]:
    """The ranges of one tier's subnets, one per availability zone."""
    blocks = list(cidr.subnets(prefixlen_diff=_SUBNET_BLOCK_BITS))
    first = 0 if tier == "public" else _FIRST_PRIVATE_BLOCK
    return [str(block) for block in blocks[first : first + count]]


class ZoneNetwork(pulumi.ComponentResource):
    """VPC, subnets, routes, a NAT gateway and the zone's Elastic IPs.

    The EIPs are allocated here, before any VM exists, because every zone's
    firewall needs the other zones' addresses.
    """

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    nat_address: aws.ec2.Eip
    host_addresses: dict[str, aws.ec2.Eip]

    def __init__(
        self, name: str, args: ZoneNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshfabric:aws:ZoneNetwork", name, None, opts)
        self._name = name
        self._zone = args.zone
        self._args = args
        child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(args.cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=self._tags("vpc"),
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=self._tags("igw"), opts=child
        )
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.public_subnets = self._subnets("public", zones.names)
        self.private_subnets = self._subnets("private", zones.names)
        # One NAT gateway per zone: app hosts and EKS nodes need outbound
        # access (packages, images); one per availability zone would triple
        # the standing cost, and the mesh already fails over between zones.
        self.nat_address = aws.ec2.Eip(
            f"{name}-nat", domain="vpc", tags=self._tags("nat"), opts=child
        )
        nat = aws.ec2.NatGateway(
            f"{name}-nat",
            allocation_id=self.nat_address.allocation_id,
            subnet_id=self.public_subnets[0].id,
            tags=self._tags("nat"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )
        self._route_tier(
            "public", aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)
        )
        self._route_tier(
            "private", aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)
        )
        self.host_addresses = {
            host: aws.ec2.Eip(
                f"{host}-address",
                domain="vpc",
                tags=mesh_tags(self._zone, "network", host),
                opts=child,
            )
            for host in args.public_hosts
        }
        self.register_outputs({"vpc_id": self.vpc.id, "nat_ip": self.nat_address.public_ip})

    def _tags(self, suffix: str) -> dict[str, str]:
        return mesh_tags(self._zone, "network", f"{self._name}-{suffix}")

    def _subnets(self, tier: Tier, zone_names: pulumi.Output[list[str]]) -> list[aws.ec2.Subnet]:
        ranges = subnet_ranges(self._args.cidr, tier, self._args.availability_zones)
        return [
            aws.ec2.Subnet(
                f"{self._name}-{tier}-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone_names[index],
                tags=self._tags(f"{tier}-{index}"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for index, cidr in enumerate(ranges)
        ]

    def _route_tier(self, tier: Tier, default_route: aws.ec2.RouteTableRouteArgs) -> None:
        """Give the tier's subnets a route table whose default route is `default_route`."""
        child = pulumi.ResourceOptions(parent=self)
        subnets = self.public_subnets if tier == "public" else self.private_subnets
        table = aws.ec2.RouteTable(
            f"{self._name}-{tier}",
            vpc_id=self.vpc.id,
            routes=[default_route],
            tags=self._tags(tier),
            opts=child,
        )
        for index, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(
                f"{self._name}-{tier}-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=child,
            )
