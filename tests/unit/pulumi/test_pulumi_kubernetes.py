"""What `pulumi up` of pulumi/kubernetes would deploy, checked against Pulumi's mocks.

No Pulumi engine, cluster or cloud can run here, so the clusters are mocked
(see conftest.MeshMocks); the program itself runs unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
from conftest import MeshMocks, run_program, three_zone_config

from meshfabric.cp import config as cp_config
from meshfabric.cp.config import Mode
from meshfabric_k8s.config import parse_kubernetes_config
from meshfabric_k8s.program import build, cluster_inputs

AWS_STACK = "acme/meshfabric-aws/prod"
KUBERNETES_ZONES = ("eu-west-1", "ap-south-1")
# How Pulumi's wire format marks a secret value.
SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"


def _zones() -> list[dict[str, Any]]:
    zones = three_zone_config()["zones"]
    zones.append(
        {"name": "ap-south-1", "region": "ap-south-1", "kind": "kubernetes", "cidr": "10.40.0.0/16"}
    )
    return zones


def _deploy(mocks: MeshMocks) -> dict[str, Any]:
    mocks.stack_outputs[AWS_STACK] = {
        "kubeconfigs": {zone: f"kubeconfig-of-{zone}" for zone in KUBERNETES_ZONES},
        "inventory": {
            "hosts": [
                {"name": "global-cp-0", "role": "global_control_plane", "public_ip": "3.90.0.10"}
            ]
        },
        "ingress_source_cidrs": {
            zone: [f"192.0.2.{i}/32"] for i, zone in enumerate(KUBERNETES_ZONES)
        },
    }
    config = parse_kubernetes_config(
        {
            "image": "registry.example.com/meshfabric:0.1.0",
            "aws_stack": AWS_STACK,
            "zones": _zones(),
        }
    )
    tokens = pulumi.Output.secret({zone: f"token-of-{zone}" for zone in KUBERNETES_ZONES})
    outputs: dict[str, Any] = run_program(
        lambda: build(config, cluster_inputs(config, kubeconfigs=None, zone_tokens=tokens))
    )
    return outputs


def _kubernetes_resources(mocks: MeshMocks) -> list:
    return [r for r in mocks.resources if r.typ.startswith("kubernetes:")]


def _one(mocks: MeshMocks, kind: str, name: str) -> Any:
    return mocks.named(f"kubernetes:{kind}", name).inputs


def test_each_kubernetes_zone_gets_its_own_cluster_provider(mocks: MeshMocks) -> None:
    _deploy(mocks)
    providers = {
        r.name: r.inputs["kubeconfig"] for r in mocks.of_type("pulumi:providers:kubernetes")
    }
    assert providers == {f"{zone}-cluster": f"kubeconfig-of-{zone}" for zone in KUBERNETES_ZONES}


def test_every_kubernetes_resource_is_on_its_zones_provider(mocks: MeshMocks) -> None:
    _deploy(mocks)
    resources = _kubernetes_resources(mocks)
    assert resources
    for resource in resources:
        zone = next(zone for zone in KUBERNETES_ZONES if resource.name.startswith(f"{zone}-"))
        assert resource.provider.split("::")[-2] == f"{zone}-cluster", resource.name
    assert not [r for r in resources if r.name.startswith("us-")]


def test_each_zone_runs_control_plane_ingress_and_egress(mocks: MeshMocks) -> None:
    _deploy(mocks)
    for zone in KUBERNETES_ZONES:
        deployments = {
            r.inputs["metadata"]["name"]: r.inputs["spec"]
            for r in mocks.of_type("kubernetes:apps/v1:Deployment")
            if r.name.startswith(zone)
        }
        assert sorted(deployments) == ["control-plane", "zone-egress", "zone-ingress"]
        assert deployments["zone-ingress"]["replicas"] == 2
        for spec in deployments.values():
            (container,) = spec["template"]["spec"]["containers"]
            assert container["image"] == "registry.example.com/meshfabric:0.1.0"
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}
            assert "tcpSocket" in container["readinessProbe"]
            assert "tcpSocket" in container["livenessProbe"]


def test_disruption_budgets_select_their_deployments(mocks: MeshMocks) -> None:
    _deploy(mocks)
    for zone in KUBERNETES_ZONES:
        for component in ("control-plane", "zone-ingress", "zone-egress"):
            budget = _one(mocks, "policy/v1:PodDisruptionBudget", f"{zone}-{component}")["spec"]
            deployment = _one(mocks, "apps/v1:Deployment", f"{zone}-{component}")["spec"]
            assert budget["maxUnavailable"] == 1
            assert budget["selector"] == deployment["selector"]
            assert deployment["selector"]["matchLabels"]["meshfabric.io/zone"] == zone


def test_ingress_load_balancer_address_becomes_the_advertised_address(mocks: MeshMocks) -> None:
    outputs = _deploy(mocks)
    for index, zone in enumerate(KUBERNETES_ZONES):
        service = _one(mocks, "core/v1:Service", f"{zone}-zone-ingress")["spec"]
        assert service["type"] == "LoadBalancer"
        assert service["loadBalancerSourceRanges"] == [f"192.0.2.{index}/32"]
        assert [port["port"] for port in service["ports"]] == [10001]
        # conftest's mock load balancer names its hostname after the service.
        address = f"{zone}-zone-ingress.elb.example"
        assert outputs["ingress_addresses"][zone] == address
        advertised = _one(mocks, "core/v1:ConfigMap", f"{zone}-zone-ingress-advertised")
        assert advertised["data"] == {"address": address}
        ingress = json.loads(
            _one(mocks, "core/v1:ConfigMap", f"{zone}-zone-ingress")["data"]["zone-ingress.yaml"]
        )
        assert ingress["advertised_port"] == 10001
        mounted = _one(mocks, "apps/v1:Deployment", f"{zone}-zone-ingress")["spec"]["template"]
        volumes = {v["name"]: v for v in mounted["spec"]["volumes"]}
        assert volumes["zone-ingress-advertised"]["configMap"]["optional"] is True
        assert ingress["advertised_address_file"].startswith(
            next(
                m["mountPath"]
                for m in mounted["spec"]["containers"][0]["volumeMounts"]
                if m["name"] == "zone-ingress-advertised"
            )
        )


def test_zone_token_and_global_address_reach_the_control_plane(
    mocks: MeshMocks, tmp_path: Path
) -> None:
    _deploy(mocks)
    for zone in KUBERNETES_ZONES:
        secret = _one(mocks, "core/v1:Secret", f"{zone}-zone-token")
        # The token stays a Pulumi secret: encrypted in the state, hidden in previews.
        assert secret["stringData"] == {
            SECRET_SIGNATURE_KEY: SECRET_SIGNATURE,
            "value": {"token": f"token-of-{zone}"},
        }
        config_file = tmp_path / f"{zone}.yaml"
        config_file.write_text(
            _one(mocks, "core/v1:ConfigMap", f"{zone}-control-plane")["data"]["control-plane.yaml"]
        )
        # Read as meshfabric-cp reads it: an unknown key or bad value fails here.
        settings = cp_config.load(config_file)
        assert settings.mode is Mode.ZONE
        assert settings.zone.name == zone
        assert settings.zone.global_address == "grpcs://3.90.0.10:5685"
        assert str(settings.zone.token_file) == "/var/run/secrets/meshfabric/token"
        pod = _one(mocks, "apps/v1:Deployment", f"{zone}-control-plane")["spec"]["template"]
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["zone-token"]["secret"]["secretName"] == "zone-token"
