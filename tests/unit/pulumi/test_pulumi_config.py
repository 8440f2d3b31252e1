"""Stack configuration errors name the key a user has to fix.

Pure validation: no Pulumi engine or cloud is involved (none can run here).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import three_zone_config

from meshfabric_k8s.config import parse_kubernetes_config
from meshfabric_zones import ConfigError, parse_mesh_config
from tests.support.docs import REPO, blocks


def _with_zone_change(index: int, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(three_zone_config())
    raw["zones"][index].update(changes)
    return raw


def _problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_mesh_config(raw)
    return caught.value.problems


def test_unknown_zone_kind_names_the_key() -> None:
    assert _problems(_with_zone_change(1, kind="vm")) == [
        "zones[1].kind: must be one of universal, kubernetes"
    ]


def test_overlapping_cidrs_name_both_keys() -> None:
    assert _problems(_with_zone_change(2, cidr="10.10.128.0/20")) == [
        "zones[2].cidr: 10.10.128.0/20 overlaps zones[0].cidr 10.10.0.0/16"
    ]


def test_the_documented_mistakes_give_the_documented_reports() -> None:
    raw = _with_zone_change(1, kind="vm")
    del raw["zones"][2]["region"]
    page = REPO / "docs" / "pulumi.md"
    [shown] = [b.text for b in blocks("") if b.page == page and "invalid stack" in b.text]
    assert ["invalid stack configuration:", *(f"  {p}" for p in _problems(raw))] == (
        shown.splitlines()
    )
    [overlap] = _problems(_with_zone_change(2, cidr="10.10.128.0/20"))
    assert f"`{overlap}`" in page.read_text()


def test_missing_region_names_the_key() -> None:
    raw = three_zone_config()
    del raw["zones"][2]["region"]
    assert _problems(raw) == ["zones[2].region: is required"]


def test_every_problem_is_reported_at_once() -> None:
    raw = three_zone_config()
    raw["zones"][0]["kind"] = "vm"
    del raw["admin_cidr"]
    raw["zones"][1]["instancez"] = {}
    assert _problems(raw) == [
        "admin_cidr: is required",
        "zones[0].kind: must be one of universal, kubernetes",
        "zones[1].instancez: is not a known setting",
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"name": "us-east-1"}, "zones[2].name: us-east-1 duplicates zones[0].name"),
        ({"name": "global"}, "zones[2].name: global is reserved for the global control plane"),
        (
            {"node_group": {"desired_size": 3}},
            "zones[2].node_group: only applies to kind kubernetes",
        ),
        ({"cidr": "8.8.0.0/16"}, "zones[2].cidr: 8.8.0.0/16 is not a private address range"),
        ({"cidr": "10.30.0.0/24"}, "zones[2].cidr: 10.30.0.0/24 must be between /16 and /22"),
        (
            {"instances": {"control_plane": {"count": 2}}},
            "zones[2].instances.control_plane: count must be 1: a zone runs a single control plane",
        ),
    ],
)
def test_zone_problems(change: dict[str, Any], problem: str) -> None:
    assert _problems(_with_zone_change(2, **change)) == [problem]


def test_global_control_plane_must_name_a_zone() -> None:
    raw = three_zone_config()
    raw["global_control_plane"] = {"zone": "mars-1"}
    assert _problems(raw) == ["global_control_plane.zone: no zone is named mars-1"]


def test_valid_config_keeps_defaults_a_user_did_not_write() -> None:
    config = parse_mesh_config(three_zone_config())
    assert config.ssh_user == "admin"
    assert config.global_zone.name == "us-east-1"
    assert config.regions == ["us-east-1", "eu-west-1", "us-west-2"]
    assert config.zones[0].instances.dataplane.count == 2


def test_kubernetes_program_without_aws_stack_needs_addresses() -> None:
    raw = {"image": "registry.example.com/meshfabric:0.1.0", "zones": three_zone_config()["zones"]}
    with pytest.raises(ConfigError) as caught:
        parse_kubernetes_config(raw)
    assert caught.value.problems == [
        "global_kds_address: is required unless aws_stack is set",
        "ingress_source_cidrs.eu-west-1: is required unless aws_stack is set",
    ]


def test_kubernetes_program_shares_the_zone_schema() -> None:
    zones = three_zone_config()["zones"]
    zones[1]["kind"] = "k8s"
    with pytest.raises(ConfigError) as caught:
        parse_kubernetes_config({"image": "meshfabric:0.1.0", "aws_stack": "o/p/s", "zones": zones})
    assert caught.value.problems == ["zones[1].kind: must be one of universal, kubernetes"]


def test_kubernetes_program_takes_egress_replicas_and_refuses_a_negative_count() -> None:
    raw = {"image": "meshfabric:0.1.0", "aws_stack": "o/p/s", "zones": three_zone_config()["zones"]}
    assert parse_kubernetes_config(raw).settings.egress_replicas == 0
    assert parse_kubernetes_config({**raw, "egress_replicas": 2}).settings.egress_replicas == 2
    with pytest.raises(ConfigError) as caught:
        parse_kubernetes_config({**raw, "egress_replicas": -1})
    [problem] = caught.value.problems
    assert problem.startswith("egress_replicas: ")
