"""Wires one ZoneDeployment per kubernetes zone, each on its own cluster's provider."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from meshfabric_k8s.config import CONFIG_KEYS, OBJECT_KEYS, KubernetesConfig
from meshfabric_k8s.zone import ZoneDeployment, ZoneDeploymentArgs
from meshfabric_zones import ConfigError

KDS_PORT = 5685

Secrets = pulumi.Output[Mapping[str, str]]


def read_stack_config(config: pulumi.Config) -> dict[str, Any]:
    """The raw (non-secret) stack configuration, structured values decoded."""
    raw: dict[str, Any] = {"zones": config.get_object("zones")}
    for key in CONFIG_KEYS:
        value = config.get_object(key) if key in OBJECT_KEYS else config.get(key)
        if value is not None:
            raw[key] = value
    return raw


def kds_address_from(inventory: Mapping[str, Any]) -> str:
    """The global control plane's KDS address, from the AWS stack's inventory output."""
    for host in inventory.get("hosts", []):
        if host.get("role") == "global_control_plane":
            return f"grpcs://{host['public_ip']}:{KDS_PORT}"
    raise ConfigError(["aws_stack: its inventory output has no global control plane"])


def _entry(values: Mapping[str, Any], key: str, zone: str) -> Any:
    if zone not in values:
        raise ConfigError([f"{key}.{zone}: is required"])
    return values[zone]


@dataclass(frozen=True)
class ClusterInputs:
    """Per-zone values that come from secrets or from the AWS stack, keyed by zone."""

    kubeconfigs: Secrets
    zone_tokens: Secrets
    kds_address: pulumi.Output[str]
    ingress_source_cidrs: pulumi.Output[Mapping[str, list[str]]]

    def of_zone(self, key: str, zone: str) -> pulumi.Output[Any]:
        """The zone's entry of the map `key`; a missing entry names the key."""
        values: pulumi.Output[Mapping[str, Any]] = getattr(self, key)
        return values.apply(lambda entries: _entry(entries, key, zone))


def cluster_inputs(
    config: KubernetesConfig, kubeconfigs: Secrets | None, zone_tokens: Secrets
) -> ClusterInputs:
    """Take each value from the stack config when set there, else from `aws_stack`."""
    settings = config.settings
    aws_stack = pulumi.StackReference(settings.aws_stack) if settings.aws_stack else None

    def from_aws_stack(output_name: str, key: str) -> pulumi.Output[Any]:
        if aws_stack is None:
            raise ConfigError([f"{key}: is required unless aws_stack is set"])
        return aws_stack.require_output(output_name)

    return ClusterInputs(
        kubeconfigs=kubeconfigs
        if kubeconfigs is not None
        else from_aws_stack("kubeconfigs", "kubeconfigs"),
        zone_tokens=zone_tokens,
        kds_address=pulumi.Output.from_input(settings.global_kds_address)
        if settings.global_kds_address is not None
        else from_aws_stack("inventory", "global_kds_address").apply(kds_address_from),
        ingress_source_cidrs=pulumi.Output.from_input(settings.ingress_source_strings())
        if settings.ingress_source_cidrs is not None
        else from_aws_stack("ingress_source_cidrs", "ingress_source_cidrs"),
    )


def build(config: KubernetesConfig, inputs: ClusterInputs) -> dict[str, pulumi.Input[Any]]:
    """Deploy every kubernetes zone; return the stack outputs."""
    settings = config.settings
    advertised: dict[str, pulumi.Output[str]] = {}
    for zone in config.zones:
        provider = k8s.Provider(
            f"{zone.name}-cluster", kubeconfig=inputs.of_zone("kubeconfigs", zone.name)
        )
        deployment = ZoneDeployment(
            zone.name,
            ZoneDeploymentArgs(
                zone=zone.name,
                image=settings.image,
                namespace=settings.namespace,
                kds_address=inputs.kds_address,
                zone_token=pulumi.Output.secret(inputs.of_zone("zone_tokens", zone.name)),
                ingress_sources=inputs.of_zone("ingress_source_cidrs", zone.name),
                ingress_replicas=settings.ingress_replicas,
                egress_replicas=settings.egress_replicas,
                control_plane_storage=settings.control_plane_storage,
                storage_class=settings.storage_class,
            ),
            pulumi.ResourceOptions(providers=[provider]),
        )
        advertised[zone.name] = deployment.advertised_address
    return {"ingress_addresses": advertised}
