"""Typed configuration of the `pulumi/kubernetes` program.

The `zones` list is the same one the `pulumi/aws` stack uses (shared schema);
this program deploys into the zones of kind `kubernetes`. Values that the AWS
stack knows (kubeconfigs, the global control plane's address, the addresses
allowed to reach each ingress) can come from it through `aws_stack` instead
of being set here.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Network
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meshfabric_zones import ConfigError, Zone, parse_zones
from meshfabric_zones.errors import config_error_from

CONFIG_KEYS = (
    "image",
    "aws_stack",
    "global_kds_address",
    "ingress_source_cidrs",
    "ingress_replicas",
    "egress_replicas",
    "namespace",
    "control_plane_storage",
    "storage_class",
)
OBJECT_KEYS = frozenset({"ingress_source_cidrs"})
SECRET_KEYS = ("kubeconfigs", "zone_tokens")


class KubernetesSettings(BaseModel):
    """Everything except `zones` and the secrets (kubeconfigs, zone_tokens)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str = Field(min_length=1)
    aws_stack: str | None = None
    global_kds_address: str | None = Field(default=None, pattern=r"^grpcs?://[^/]+:\d+$")
    ingress_source_cidrs: dict[str, list[IPv4Network]] | None = None
    ingress_replicas: int = Field(default=2, ge=1, le=10)
    # ZoneEgress proxies; 0 deploys none (a mesh with routing.zoneEgress then has no way out).
    egress_replicas: int = Field(default=0, ge=0, le=10)
    namespace: str = Field(default="meshfabric-system", pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    # The control plane's persistent volume (its data directory): size and StorageClass.
    control_plane_storage: str = Field(default="1Gi", pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")
    storage_class: str | None = Field(default=None, min_length=1)

    def ingress_source_strings(self) -> dict[str, list[str]]:
        """`ingress_source_cidrs` as plain strings, the form Kubernetes takes."""
        given = self.ingress_source_cidrs or {}
        return {zone: [str(cidr) for cidr in cidrs] for zone, cidrs in given.items()}


class KubernetesConfig(BaseModel):
    """The validated configuration: settings plus the kubernetes zones to deploy into."""

    model_config = ConfigDict(frozen=True)

    settings: KubernetesSettings
    zones: list[Zone]


def _settings_problems(settings: KubernetesSettings, zones: list[Zone]) -> list[str]:
    if settings.aws_stack:
        return []
    problems = []
    if settings.global_kds_address is None:
        problems.append("global_kds_address: is required unless aws_stack is set")
    given = settings.ingress_source_cidrs or {}
    problems.extend(
        f"ingress_source_cidrs.{zone.name}: is required unless aws_stack is set"
        for zone in zones
        if zone.name not in given
    )
    return problems


def parse_kubernetes_config(raw: Mapping[str, Any]) -> KubernetesConfig:
    """Validate the stack configuration; raise ConfigError naming every bad key."""
    zones = [zone for zone in parse_zones(raw.get("zones")) if zone.kind == "kubernetes"]
    if not zones:
        raise ConfigError(["zones: no zone of kind kubernetes to deploy into"])
    try:
        settings = KubernetesSettings.model_validate(
            {key: value for key, value in raw.items() if key != "zones"}
        )
    except ValidationError as error:
        raise config_error_from(error) from None
    problems = _settings_problems(settings, zones)
    if problems:
        raise ConfigError(problems)
    return KubernetesConfig(settings=settings, zones=zones)
