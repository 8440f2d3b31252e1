"""What `pulumi up` of pulumi/aws would create, checked against Pulumi's mocks.

No Pulumi engine, provider plugin or AWS account can run here, so the cloud
is mocked (see conftest.MeshMocks); the program itself runs unchanged.
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import ADMIN_CIDR, MeshMocks, eip, run_aws_program, three_zone_config

PROVIDER = "pulumi:providers:aws"
REGION_OF_ZONE = {
    "global": "us-east-1",
    "us-east-1": "us-east-1",
    "eu-west-1": "eu-west-1",
    "us-west-2": "us-west-2",
}
# AWS offers no tags on these.
UNTAGGABLE = {
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/eipAssociation:EipAssociation",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
}
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def _cloud_resources(mocks: MeshMocks) -> list:
    return [r for r in mocks.resources if r.custom and not r.typ.startswith("pulumi:providers:")]


def _provider_name(reference: str) -> str:
    # "urn:pulumi:stack::project::pulumi:providers:aws::aws-us-east-1::<id>"
    return reference.split("::")[-2]


def test_one_explicit_provider_per_region(mocks: MeshMocks) -> None:
    run_aws_program()
    assert sorted(r.name for r in mocks.of_type(PROVIDER)) == [
        "aws-eu-west-1",
        "aws-us-east-1",
        "aws-us-west-2",
    ]
    assert {r.inputs["region"] for r in mocks.of_type(PROVIDER)} == {
        "us-east-1",
        "eu-west-1",
        "us-west-2",
    }


def test_nothing_uses_the_default_provider(mocks: MeshMocks) -> None:
    run_aws_program()
    resources = _cloud_resources(mocks)
    assert resources
    for resource in resources:
        assert resource.provider, f"{resource.typ} {resource.name} uses the default provider"
        zone = resource.inputs.get("tags", {}).get("meshfabric:zone")
        if zone is not None:
            assert _provider_name(resource.provider) == f"aws-{REGION_OF_ZONE[zone]}", resource.name
    for call in mocks.calls:
        assert call.provider, f"invoke {call.token} uses the default provider"


def test_every_taggable_resource_carries_zone_and_role(mocks: MeshMocks) -> None:
    run_aws_program()
    for resource in _cloud_resources(mocks):
        if resource.typ in UNTAGGABLE:
            continue
        tags = resource.inputs.get("tags", {})
        assert tags.get("meshfabric:zone") in REGION_OF_ZONE, resource.name
        assert tags.get("meshfabric:role"), resource.name


def test_resources_per_zone(mocks: MeshMocks) -> None:
    run_aws_program()
    instances = Counter(
        (r.inputs["tags"]["meshfabric:zone"], r.inputs["tags"]["meshfabric:role"])
        for r in mocks.of_type("aws:ec2/instance:Instance")
    )
    assert instances == {
        ("global", "global_control_plane"): 1,
        ("us-east-1", "zone_control_plane"): 1,
        ("us-east-1", "zone_ingress"): 1,
        ("us-east-1", "zone_egress"): 1,
        ("us-east-1", "dataplane"): 2,
        ("us-west-2", "zone_control_plane"): 1,
        ("us-west-2", "zone_ingress"): 1,
        ("us-west-2", "zone_egress"): 1,
        ("us-west-2", "dataplane"): 2,
    }
    per_zone = Counter(
        (r.typ.rsplit(":", 1)[-1], r.inputs["tags"]["meshfabric:zone"])
        for r in _cloud_resources(mocks)
        if r.typ.startswith(("aws:ec2/vpc:", "aws:ec2/natGateway:", "aws:ec2/subnet:", "aws:eks/"))
    )
    for zone in ("us-east-1", "eu-west-1", "us-west-2"):
        assert per_zone[("Vpc", zone)] == 1
        assert per_zone[("NatGateway", zone)] == 1
        assert per_zone[("Subnet", zone)] == 4  # public and private in two availability zones
    assert per_zone[("Cluster", "eu-west-1")] == 1
    assert per_zone[("NodeGroup", "eu-west-1")] == 1
    assert len(mocks.of_type("aws:eks/cluster:Cluster")) == 1


def test_app_hosts_stay_private_and_the_rest_get_an_elastic_ip(mocks: MeshMocks) -> None:
    run_aws_program()
    associated = {r.name for r in mocks.of_type("aws:ec2/eipAssociation:EipAssociation")}
    instances = {r.name: r for r in mocks.of_type("aws:ec2/instance:Instance")}
    for name, instance in instances.items():
        is_app = instance.inputs["tags"]["meshfabric:role"] == "dataplane"
        assert (name in associated) is not is_app, name
        subnet = instance.inputs["subnetId"]
        assert ("-private-" in subnet) is is_app, f"{name} is in {subnet}"


def _source(rule) -> str:
    if "cidrIpv4" in rule.inputs:
        return rule.inputs["cidrIpv4"]
    return "sg:" + rule.inputs["referencedSecurityGroupId"].removesuffix("-id")


def _ingress_matrix(mocks: MeshMocks) -> set[tuple[str, int, int, str]]:
    rules = mocks.of_type(INGRESS_RULE)
    assert all(rule.inputs["ipProtocol"] == "tcp" for rule in rules)
    return {
        (
            rule.inputs["securityGroupId"].removesuffix("-id"),
            rule.inputs["fromPort"],
            rule.inputs["toPort"],
            _source(rule),
        )
        for rule in rules
    }


def _universal_zone_rules(zone: str, vpc: str, cross_zone: list[str]) -> set:
    firewall = f"{zone}-firewall"
    return {
        (f"{firewall}-zone_control_plane", 22, 22, ADMIN_CIDR),
        (f"{firewall}-zone_control_plane", 5681, 5681, ADMIN_CIDR),
        (f"{firewall}-zone_control_plane", 5678, 5678, f"sg:{firewall}-zone_ingress"),
        (f"{firewall}-zone_control_plane", 5678, 5678, f"sg:{firewall}-zone_egress"),
        (f"{firewall}-zone_control_plane", 5678, 5678, f"sg:{firewall}-dataplane"),
        (f"{firewall}-zone_control_plane", 5676, 5676, vpc),
        (f"{firewall}-zone_ingress", 22, 22, ADMIN_CIDR),
        *((f"{firewall}-zone_ingress", 10001, 10001, source) for source in cross_zone),
        (f"{firewall}-zone_egress", 22, 22, ADMIN_CIDR),
        (f"{firewall}-zone_egress", 10002, 10002, f"sg:{firewall}-dataplane"),
        (f"{firewall}-dataplane", 22, 22, f"sg:{firewall}-zone_control_plane"),
        (f"{firewall}-dataplane", 1, 65535, vpc),
    }


def test_security_group_rules_equal_the_intended_matrix(mocks: MeshMocks) -> None:
    run_aws_program()
    eu_nat = f"{eip('eu-west-1-nat')}/32"
    us_east = [f"{eip(f'us-east-1-{role}-0-address')}/32" for role in ("ingress", "egress")]
    us_west = [f"{eip(f'us-west-2-{role}-0-address')}/32" for role in ("ingress", "egress")]
    expected = {
        ("global-firewall-global_control_plane", 22, 22, ADMIN_CIDR),
        ("global-firewall-global_control_plane", 5681, 5681, ADMIN_CIDR),
        ("global-firewall-global_control_plane", 5685, 5685, f"{eip('us-east-1-cp-0-address')}/32"),
        ("global-firewall-global_control_plane", 5685, 5685, f"{eip('us-west-2-cp-0-address')}/32"),
        ("global-firewall-global_control_plane", 5685, 5685, eu_nat),
        *_universal_zone_rules("us-east-1", "10.10.0.0/16", [eu_nat, *us_west]),
        *_universal_zone_rules("us-west-2", "10.30.0.0/16", [*us_east, eu_nat]),
    }
    assert _ingress_matrix(mocks) == expected
    assert len(mocks.of_type(INGRESS_RULE)) == len(expected)


def test_only_outbound_rules_mention_the_whole_internet(mocks: MeshMocks) -> None:
    run_aws_program()
    assert all(r.inputs.get("cidrIpv4") != "0.0.0.0/0" for r in mocks.of_type(INGRESS_RULE))
    groups = {r.name for r in mocks.of_type("aws:ec2/securityGroup:SecurityGroup")}
    outbound = mocks.of_type(EGRESS_RULE)
    assert sorted(r.inputs["securityGroupId"].removesuffix("-id") for r in outbound) == sorted(
        groups
    )
    assert {(r.inputs["ipProtocol"], r.inputs["cidrIpv4"]) for r in outbound} == {
        ("-1", "0.0.0.0/0")
    }


def test_eks_is_wired_to_its_region_network_and_roles(mocks: MeshMocks) -> None:
    outputs = run_aws_program()
    cluster = mocks.named("aws:eks/cluster:Cluster", "eu-west-1-cluster")
    assert _provider_name(cluster.provider) == "aws-eu-west-1"
    assert cluster.inputs["roleArn"].endswith("role/eu-west-1-cluster")
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == [ADMIN_CIDR]
    assert all(s.startswith("eu-west-1-") for s in cluster.inputs["vpcConfig"]["subnetIds"])
    nodes = mocks.named("aws:eks/nodeGroup:NodeGroup", "eu-west-1-nodes")
    assert _provider_name(nodes.provider) == "aws-eu-west-1"
    assert nodes.inputs["clusterName"] == "eu-west-1-cluster"
    assert nodes.inputs["nodeRoleArn"].endswith("role/eu-west-1-nodes")
    assert sorted(nodes.inputs["subnetIds"]) == ["eu-west-1-private-0-id", "eu-west-1-private-1-id"]
    assert '"--region", "eu-west-1"' in outputs["kubeconfigs"]["eu-west-1"]
    assert list(outputs["kubeconfigs"]) == ["eu-west-1"]


def test_kubernetes_zones_learn_which_addresses_may_reach_their_ingress() -> None:
    outputs = run_aws_program()
    assert sorted(outputs["ingress_source_cidrs"]["eu-west-1"]) == sorted(
        f"{eip(f'{zone}-{role}-0-address')}/32"
        for zone in ("us-east-1", "us-west-2")
        for role in ("ingress", "egress")
    )


@pytest.mark.parametrize("count", [1, 3])
def test_dataplane_count_follows_the_config(mocks: MeshMocks, count: int) -> None:
    raw = three_zone_config()
    raw["zones"][0]["instances"] = {"dataplane": {"instance_type": "m6i.large", "count": count}}
    run_aws_program(raw)
    apps = [
        r for r in mocks.of_type("aws:ec2/instance:Instance") if r.name.startswith("us-east-1-app-")
    ]
    assert len(apps) == count
    assert {r.inputs["instanceType"] for r in apps} == {"m6i.large"}
