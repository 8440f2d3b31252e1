"""Typed, validated stack configuration for a multi-zone mesh.

The shape a user writes in `Pulumi.<stack>.yaml`::

    meshfabric-aws:admin_cidr: 203.0.113.0/24
    meshfabric-aws:ssh_public_key: ssh-ed25519 AAAA... ops@example.com
    meshfabric-aws:global_control_plane:
      zone: us-east-1
    meshfabric-aws:zones:
      - name: us-east-1
        region: us-east-1
        kind: universal
        cidr: 10.10.0.0/16
        instances:
          dataplane: {instance_type: t3.medium, count: 3}
      - name: eu-west-1
        region: eu-west-1
        kind: kubernetes
        cidr: 10.20.0.0/16

Field-level checks are pydantic's; the checks that relate several fields
(overlapping CIDRs, duplicate names, keys that only fit one zone kind) run
afterwards so that every message can name the exact key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from meshfabric_zones.errors import ConfigError, config_error_from

ZoneKind = Literal["universal", "kubernetes"]

# Zone names end up in AWS resource names, Kubernetes object names and Ansible
# group names, so they are kept to lowercase DNS labels.
ZoneName = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")]
Region = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")]

# The zone name `global` is the one the inventory gives the global control plane.
RESERVED_ZONE_NAME = "global"


class _Strict(BaseModel):
    # Unknown keys are almost always typos; rejecting them beats ignoring them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstanceGroup(_Strict):
    """How many VMs of one role a universal zone runs, and of which type."""

    instance_type: str = "t3.small"
    count: int = Field(default=1, ge=1, le=20)


class UniversalInstances(_Strict):
    """The VMs of a universal zone, per role.

    Every zone gets an egress: app hosts have no public address, and the
    firewall only admits other zones' ingress and egress addresses.
    """

    control_plane: InstanceGroup = InstanceGroup()
    ingress: InstanceGroup = InstanceGroup()
    egress: InstanceGroup = InstanceGroup()
    dataplane: InstanceGroup = InstanceGroup(count=2)

    @field_validator("control_plane")
    @classmethod
    def _one_control_plane(cls, group: InstanceGroup) -> InstanceGroup:
        # A zone control plane keeps its state in a local SQLite store.
        if group.count != 1:
            raise ValueError("count must be 1: a zone runs a single control plane")
        return group


class NodeGroup(_Strict):
    """The EKS managed node group of a kubernetes zone."""

    instance_type: str = "t3.medium"
    desired_size: int = Field(default=2, ge=1, le=50)
    min_size: int = Field(default=1, ge=1, le=50)
    max_size: int = Field(default=3, ge=1, le=50)

    @field_validator("max_size")
    @classmethod
    def _max_not_below_min(cls, max_size: int, info: ValidationInfo) -> int:
        if max_size < info.data.get("min_size", 1):
            raise ValueError("must not be smaller than min_size")
        return max_size


class Zone(_Strict):
    """One mesh zone: a VPC in one region, run on VMs or on an EKS cluster."""

    name: ZoneName
    region: Region
    kind: ZoneKind
    cidr: IPv4Network
    availability_zones: int = Field(default=2, ge=2, le=4)
    instances: UniversalInstances = UniversalInstances()
    node_group: NodeGroup = NodeGroup()
    kubernetes_version: str = "1.33"

    @field_validator("cidr")
    @classmethod
    def _usable_vpc_range(cls, cidr: IPv4Network) -> IPv4Network:
        # Public subnets take the first sixteenth of the range, private ones the
        # ninth sixteenth onwards, so /22 is the smallest range that still
        # leaves room for a few hosts per subnet.
        if not cidr.is_private:
            raise ValueError(f"{cidr} is not a private address range")
        if not 16 <= cidr.prefixlen <= 22:
            raise ValueError(f"{cidr} must be between /16 and /22")
        return cidr


class GlobalControlPlane(_Strict):
    """Where the global control plane VM runs (inside that zone's VPC)."""

    zone: ZoneName | None = None
    instance_type: str = "t3.small"


class MeshConfig(_Strict):
    """The whole configuration of the `pulumi/aws` program."""

    admin_cidr: IPv4Network
    ssh_public_key: str = Field(min_length=1)
    ssh_user: str = "admin"
    global_control_plane: GlobalControlPlane = GlobalControlPlane()
    zones: list[Zone] = Field(min_length=1)

    @property
    def global_zone(self) -> Zone:
        """The zone whose VPC hosts the global control plane (the first by default)."""
        wanted = self.global_control_plane.zone or self.zones[0].name
        return next(zone for zone in self.zones if zone.name == wanted)

    @property
    def regions(self) -> list[str]:
        """Every region in use, in the order zones name them."""
        return list(dict.fromkeys(zone.region for zone in self.zones))


_ZONES = TypeAdapter(list[Zone])

_KIND_ONLY_KEYS: dict[str, ZoneKind] = {
    "instances": "universal",
    "node_group": "kubernetes",
    "kubernetes_version": "kubernetes",
}


def _zone_problems(zones: Sequence[Zone]) -> Iterator[str]:
    for index, zone in enumerate(zones):
        if zone.name == RESERVED_ZONE_NAME:
            yield f"zones[{index}].name: {zone.name} is reserved for the global control plane"
        for key in sorted(zone.model_fields_set & _KIND_ONLY_KEYS.keys()):
            if _KIND_ONLY_KEYS[key] != zone.kind:
                yield f"zones[{index}].{key}: only applies to kind {_KIND_ONLY_KEYS[key]}"
        for earlier_index, earlier in enumerate(zones[:index]):
            if earlier.name == zone.name:
                yield f"zones[{index}].name: {zone.name} duplicates zones[{earlier_index}].name"
            if earlier.cidr.overlaps(zone.cidr):
                yield (
                    f"zones[{index}].cidr: {zone.cidr} overlaps "
                    f"zones[{earlier_index}].cidr {earlier.cidr}"
                )


def parse_zones(raw: object) -> list[Zone]:
    """Validate a `zones` list; raise ConfigError naming every bad key."""
    try:
        zones = _ZONES.validate_python(raw)
    except ValidationError as error:
        raise config_error_from(error, prefix=("zones",)) from None
    problems = list(_zone_problems(zones))
    if problems:
        raise ConfigError(problems)
    return zones


def parse_mesh_config(raw: Mapping[str, object]) -> MeshConfig:
    """Validate the `pulumi/aws` stack configuration; raise ConfigError naming every bad key."""
    try:
        config = MeshConfig.model_validate(raw)
    except ValidationError as error:
        raise config_error_from(error) from None
    problems = list(_zone_problems(config.zones))
    wanted = config.global_control_plane.zone
    if wanted is not None and wanted not in {zone.name for zone in config.zones}:
        problems.append(f"global_control_plane.zone: no zone is named {wanted}")
    if problems:
        raise ConfigError(problems)
    return config
