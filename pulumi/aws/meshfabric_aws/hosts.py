"""Which VMs the mesh needs, and the component that creates one zone's VMs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from meshfabric_aws.firewall import FirewallInputs, ZoneFirewall, ZoneFirewallArgs
from meshfabric_aws.network import ZoneNetwork
from meshfabric_aws.tags import GLOBAL_ZONE, HostRole, mesh_tags
from meshfabric_zones import MeshConfig, Zone

# Debian's official images; their login user is `admin` (the default ssh_user).
DEBIAN_OWNER = "136693071363"
DEBIAN_IMAGE_NAME = "debian-12-amd64-*"

_SHORT_NAMES: dict[HostRole, str] = {
    "zone_control_plane": "cp",
    "zone_ingress": "ingress",
    "zone_egress": "egress",
    "dataplane": "app",
}


@dataclass(frozen=True)
class HostSpec:
    """One VM: its inventory identity and where it runs."""

    name: str
    zone: str
    network_zone: str
    region: str
    role: HostRole
    instance_type: str
    index: int

    @property
    def public(self) -> bool:
        """App hosts stay private; only they reach other zones through the zone egress."""
        return self.role != "dataplane"


def _universal_zone_hosts(zone: Zone) -> list[HostSpec]:
    groups = zone.instances
    by_role: dict[HostRole, tuple[str, int]] = {
        "zone_control_plane": (groups.control_plane.instance_type, groups.control_plane.count),
        "zone_ingress": (groups.ingress.instance_type, groups.ingress.count),
        "zone_egress": (groups.egress.instance_type, groups.egress.count),
        "dataplane": (groups.dataplane.instance_type, groups.dataplane.count),
    }
    return [
        HostSpec(
            f"{zone.name}-{_SHORT_NAMES[role]}-{index}",
            zone.name,
            zone.name,
            zone.region,
            role,
            instance_type,
            index,
        )
        for role, (instance_type, count) in by_role.items()
        for index in range(count)
    ]


def plan_hosts(config: MeshConfig) -> list[HostSpec]:
    """Every VM of the mesh: the global control plane, then each universal zone's hosts."""
    home = config.global_zone
    global_cp = HostSpec(
        "global-cp-0",
        GLOBAL_ZONE,
        home.name,
        home.region,
        "global_control_plane",
        config.global_control_plane.instance_type,
        0,
    )
    zone_hosts = [
        host
        for zone in config.zones
        if zone.kind == "universal"
        for host in _universal_zone_hosts(zone)
    ]
    return [global_cp, *zone_hosts]


def debian_image(opts: pulumi.InvokeOutputOptions) -> pulumi.Output[str]:
    """The newest Debian 12 image in the region of the invoke's provider."""
    image = aws.ec2.get_ami_output(
        most_recent=True,
        owners=[DEBIAN_OWNER],
        filters=[aws.ec2.GetAmiFilterArgs(name="name", values=[DEBIAN_IMAGE_NAME])],
        opts=opts,
    )
    return image.id


@dataclass(frozen=True)
class Host:
    """A created VM and its public address (None for app hosts)."""

    spec: HostSpec
    instance: aws.ec2.Instance
    address: aws.ec2.Eip | None


@dataclass(frozen=True)
class ZoneHostsArgs:
    """Parameters:

    - zone: the zone name used in tags (`global` for the global control plane).
    - hosts: the VMs to create, all in `network`.
    - network: the VPC and addresses they use.
    - firewall: the addresses their security groups refer to.
    - key_name: the EC2 key pair of the region.
    """

    zone: str
    hosts: Sequence[HostSpec]
    network: ZoneNetwork
    firewall: FirewallInputs
    key_name: pulumi.Input[str]


class ZoneHosts(pulumi.ComponentResource):
    """The security groups and VMs of one universal zone (or of the global control plane)."""

    hosts: list[Host]

    def __init__(
        self, name: str, args: ZoneHostsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshfabric:aws:ZoneHosts", name, None, opts)
        roles = list(dict.fromkeys(host.role for host in args.hosts))
        firewall = ZoneFirewall(
            f"{name}-firewall",
            ZoneFirewallArgs(args.zone, args.network.vpc.id, roles, args.firewall),
            pulumi.ResourceOptions(parent=self),
        )
        image = debian_image(pulumi.InvokeOutputOptions(parent=self))
        self.hosts = [
            self._host(spec, args, firewall.groups[spec.role], image) for spec in args.hosts
        ]
        self.register_outputs({host.spec.name: host.instance.id for host in self.hosts})

    def _host(
        self,
        spec: HostSpec,
        args: ZoneHostsArgs,
        group: aws.ec2.SecurityGroup,
        image: pulumi.Output[str],
    ) -> Host:
        network = args.network
        subnets = network.public_subnets if spec.public else network.private_subnets
        instance = aws.ec2.Instance(
            spec.name,
            ami=image,
            instance_type=spec.instance_type,
            subnet_id=subnets[spec.index % len(subnets)].id,
            vpc_security_group_ids=[group.id],
            key_name=args.key_name,
            # Require IMDSv2 tokens: a request forgery on a host must not hand
            # out the instance's credentials.
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(http_tokens="required"),
            tags=mesh_tags(spec.zone, spec.role, spec.name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        address = network.host_addresses.get(spec.name)
        if address is not None:
            aws.ec2.EipAssociation(
                spec.name,
                allocation_id=address.allocation_id,
                instance_id=instance.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return Host(spec, instance, address)
