"""Wires the components together: what `pulumi up` creates for a MeshConfig."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from meshfabric_aws.eks import EksZone, EksZoneArgs
from meshfabric_aws.firewall import FirewallInputs
from meshfabric_aws.hosts import Host, HostSpec, ZoneHosts, ZoneHostsArgs, plan_hosts
from meshfabric_aws.inventory import inventory_output
from meshfabric_aws.network import ZoneNetwork, ZoneNetworkArgs
from meshfabric_aws.tags import GLOBAL_ZONE, mesh_tags
from meshfabric_zones import MeshConfig, Zone

CONFIG_KEYS = ("admin_cidr", "ssh_public_key", "ssh_user", "global_control_plane", "zones")


def read_stack_config(config: pulumi.Config) -> dict[str, Any]:
    """The raw stack configuration, structured values decoded, unset keys left out."""
    raw: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        value = (
            config.get_object(key) if key in {"global_control_plane", "zones"} else config.get(key)
        )
        if value is not None:
            raw[key] = value
    return raw


def _slash32(address: aws.ec2.Eip) -> pulumi.Output[str]:
    return address.public_ip.apply(lambda ip: f"{ip}/32")


def _addresses_of(
    hosts: Sequence[HostSpec], network: ZoneNetwork, roles: set[str]
) -> list[pulumi.Output[str]]:
    return [_slash32(network.host_addresses[host.name]) for host in hosts if host.role in roles]


def zone_public_sources(
    zone: Zone, hosts: Sequence[HostSpec], network: ZoneNetwork
) -> dict[str, list[pulumi.Output[str]]]:
    """Where a zone's cross-zone and KDS connections come from.

    Universal zones connect from their ingress/egress and control-plane EIPs;
    in a kubernetes zone every pod leaves through the zone's NAT gateway.
    """
    if zone.kind == "kubernetes":
        nat = [_slash32(network.nat_address)]
        return {"cross_zone": nat, "kds": nat}
    own = [host for host in hosts if host.zone == zone.name]
    return {
        "cross_zone": _addresses_of(own, network, {"zone_ingress", "zone_egress"}),
        "kds": _addresses_of(own, network, {"zone_control_plane"}),
    }


def build(config: MeshConfig) -> dict[str, pulumi.Input[Any]]:
    """Create every resource of the mesh and return the stack outputs."""
    providers = {region: aws.Provider(f"aws-{region}", region=region) for region in config.regions}

    def on(zone: Zone) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[providers[zone.region]])

    specs = plan_hosts(config)
    networks = {
        zone.name: ZoneNetwork(
            zone.name,
            ZoneNetworkArgs(
                zone.name,
                zone.cidr,
                zone.availability_zones,
                [host.name for host in specs if host.public and host.network_zone == zone.name],
            ),
            on(zone),
        )
        for zone in config.zones
    }
    sources = {
        zone.name: zone_public_sources(zone, specs, networks[zone.name]) for zone in config.zones
    }
    ingress_sources = {
        zone.name: [
            address
            for other in config.zones
            if other.name != zone.name
            for address in sources[other.name]["cross_zone"]
        ]
        for zone in config.zones
    }
    key_names = {
        zone.name: aws.ec2.KeyPair(
            f"{zone.name}-ssh",
            public_key=config.ssh_public_key,
            tags=mesh_tags(zone.name, "ssh", f"{zone.name}-ssh"),
            opts=pulumi.ResourceOptions(provider=providers[zone.region]),
        ).key_name
        for zone in config.zones
    }

    hosts: list[Host] = []
    kubeconfigs: dict[str, pulumi.Output[str]] = {}
    for zone in config.zones:
        network = networks[zone.name]
        if zone.kind == "kubernetes":
            cluster = EksZone(
                zone.name, EksZoneArgs(zone, network, str(config.admin_cidr)), on(zone)
            )
            kubeconfigs[zone.name] = cluster.kubeconfig
            continue
        zone_hosts = ZoneHosts(
            zone.name,
            ZoneHostsArgs(
                zone.name,
                [host for host in specs if host.zone == zone.name],
                network,
                FirewallInputs(
                    str(config.admin_cidr),
                    str(zone.cidr),
                    ingress_sources=ingress_sources[zone.name],
                ),
                key_names[zone.name],
            ),
            on(zone),
        )
        hosts.extend(zone_hosts.hosts)

    home = config.global_zone
    global_cp = ZoneHosts(
        GLOBAL_ZONE,
        ZoneHostsArgs(
            GLOBAL_ZONE,
            [host for host in specs if host.zone == GLOBAL_ZONE],
            networks[home.name],
            FirewallInputs(
                str(config.admin_cidr),
                str(home.cidr),
                kds_sources=[address for zone in sources.values() for address in zone["kds"]],
            ),
            key_names[home.name],
        ),
        on(home),
    )
    return {
        "inventory": inventory_output(config, [*global_cp.hosts, *hosts]),
        "kubeconfigs": pulumi.Output.secret(kubeconfigs),
        "ingress_source_cidrs": _kubernetes_only(config, ingress_sources),
    }


def _kubernetes_only(
    config: MeshConfig, ingress_sources: Mapping[str, list[pulumi.Output[str]]]
) -> dict[str, list[pulumi.Output[str]]]:
    # The kubernetes program puts these on each zone ingress's LoadBalancer;
    # universal zones already enforce them in their security groups.
    return {
        zone.name: ingress_sources[zone.name] for zone in config.zones if zone.kind == "kubernetes"
    }
