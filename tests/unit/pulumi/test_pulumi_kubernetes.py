"""What `pulumi up` of pulumi/kubernetes would deploy, checked against Pulumi's mocks.

No Pulumi engine, cluster or cloud can run here, so the clusters are mocked
(see conftest.MeshMocks); the program itself runs unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import MeshMocks, run_program, three_zone_config

from meshfabric.cp import config as cp_config
from meshfabric.cp.config import Mode
from meshfabric.dp.cli import ProxyType
from meshfabric.dp.cli import app as dataplane
from meshfabric_k8s.config import parse_kubernetes_config
from meshfabric_k8s.program import build, cluster_inputs
from meshfabric_zones import ConfigError
from tests.support.docs import parse_command_line

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


def _deploy(mocks: MeshMocks, **settings: Any) -> dict[str, Any]:
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
            **settings,
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


def _workloads(mocks: MeshMocks, zone: str) -> dict[str, Any]:
    """The zone's Deployments and StatefulSets by name: their specs."""
    return {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for kind in ("Deployment", "StatefulSet")
        for r in mocks.of_type(f"kubernetes:apps/v1:{kind}")
        if r.name.startswith(zone)
    }


def test_each_zone_runs_a_control_plane_and_an_ingress_and_no_egress_unless_asked(
    mocks: MeshMocks,
) -> None:
    _deploy(mocks)
    for zone in KUBERNETES_ZONES:
        deployments = _workloads(mocks, zone)
        assert sorted(deployments) == ["control-plane", "zone-ingress"]
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
        for component in ("control-plane", "zone-ingress"):
            budget = _one(mocks, "policy/v1:PodDisruptionBudget", f"{zone}-{component}")["spec"]
            deployment = _workloads(mocks, zone)[component]
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
        # Published before the pods are ready: the address must not wait for the ingress.
        assert service["publishNotReadyAddresses"] is True
        (container,) = _ingress_pod(mocks, zone)["containers"]
        env = {variable["name"]: variable["valueFrom"] for variable in container["env"]}
        assert env["ADVERTISED_ADDRESS"] == {
            "configMapKeyRef": {"name": "zone-ingress-advertised", "key": "address"}
        }
        assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert env["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}


def _ingress_pod(mocks: MeshMocks, zone: str) -> Any:
    return _one(mocks, "apps/v1:Deployment", f"{zone}-zone-ingress")["spec"]["template"]["spec"]


def _expanded(words: list[str], env: dict[str, str]) -> list[str]:
    """`words` with $(NAME) replaced as Kubernetes does with a container's environment."""
    return [re.sub(r"\$\((\w+)\)", lambda found: env[found.group(1)], word) for word in words]


def _dp_options(
    mocks: MeshMocks, zone: str, component: str, env: dict[str, str], tmp_path: Path
) -> tuple[dict[str, Any], str]:
    """The options the pod's meshfabric-dp command gets, parsed by the real meshfabric-dp (an
    option it lacks or a bad value fails here), and the Secret the pod mounts."""
    pod = _one(mocks, "apps/v1:Deployment", f"{zone}-{component}")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    [secret] = [v for v in pod["volumes"] if "secret" in v]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == secret["name"]]
    # The Secret's keys, where the kubelet would put them.
    (tmp_path / "token").write_text("a dataplane token")
    (tmp_path / "xds-ca.crt").write_text("a CA")
    words = [w.replace(mount["mountPath"], str(tmp_path)) for w in container["command"]]
    program, *arguments = _expanded(words, env)
    assert program == "meshfabric-dp"
    options = parse_command_line(dataplane, arguments)
    assert options["cp_address"] == "grpcs://control-plane.meshfabric-system.svc:5678"
    assert options["dataplane_token_file"] == tmp_path / "token"
    assert options["ca_cert_file"] == tmp_path / "xds-ca.crt"
    return options, secret["secret"]["secretName"]


def test_the_ingress_container_runs_meshfabric_dp_with_options_it_has(
    mocks: MeshMocks, tmp_path: Path
) -> None:
    _deploy(mocks)
    for zone in KUBERNETES_ZONES:
        env = {"POD_NAME": "zone-ingress-7d9", "POD_IP": "10.1.2.3", "ADVERTISED_ADDRESS": "lb"}
        options, secret = _dp_options(mocks, zone, "zone-ingress", env, tmp_path)
        assert options["proxy_type"] is ProxyType.INGRESS
        assert (options["name"], options["mesh"]) == ("zone-ingress-7d9", "default")
        assert (options["address"], options["ingress_port"]) == ("10.1.2.3", 10001)
        assert options["advertised_address"] == "lb"
        assert secret == "zone-ingress"


def test_egress_replicas_run_meshfabric_dp_as_the_zones_egress_at_the_pod_address(
    mocks: MeshMocks, tmp_path: Path
) -> None:
    _deploy(mocks, egress_replicas=2)
    for zone in KUBERNETES_ZONES:
        assert _workloads(mocks, zone)["zone-egress"]["replicas"] == 2
        env = {"POD_NAME": "zone-egress-5c4", "POD_IP": "10.1.2.4"}
        options, secret = _dp_options(mocks, zone, "zone-egress", env, tmp_path)
        assert options["proxy_type"] is ProxyType.EGRESS
        assert (options["name"], options["mesh"]) == ("zone-egress-5c4", "default")
        assert (options["address"], options["egress_port"]) == ("10.1.2.4", 10002)
        assert secret == "zone-egress"
        budget = _one(mocks, "policy/v1:PodDisruptionBudget", f"{zone}-zone-egress")["spec"]
        assert budget["maxUnavailable"] == 1


def test_a_command_line_with_an_option_meshfabric_dp_lacks_is_refused() -> None:
    with pytest.raises(Exception, match="No such option: --config"):
        parse_command_line(dataplane, ["run", "--config", "/etc/meshfabric/zone-ingress.yaml"])


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
        assert settings.xds.tls_extra_sans == ["control-plane.meshfabric-system.svc"]
        pod = _one(mocks, "apps/v1:StatefulSet", f"{zone}-control-plane")["spec"]["template"]
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["zone-token"]["secret"]["secretName"] == "zone-token"


def test_the_control_plane_keeps_its_data_directory_on_a_persistent_volume(
    mocks: MeshMocks, tmp_path: Path
) -> None:
    """Its xDS CA lives in the data directory: on a pod's own filesystem, a restarted pod
    would make a new CA that the zone-ingress Secret no longer matches. Checked against
    Pulumi's mocks (no cluster here): the StatefulSet claims a volume per pod and mounts it
    where the control plane, reading its configuration as meshfabric-cp does, keeps its
    data."""
    _deploy(mocks)
    for zone in KUBERNETES_ZONES:
        assert not [
            r
            for r in mocks.of_type("kubernetes:apps/v1:Deployment")
            if r.name == f"{zone}-control-plane"
        ]
        spec = _one(mocks, "apps/v1:StatefulSet", f"{zone}-control-plane")["spec"]
        assert spec["replicas"] == 1
        assert spec["serviceName"] == "control-plane"
        [claim] = spec["volumeClaimTemplates"]
        assert claim["metadata"]["name"] == "data"
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert claim["spec"]["resources"]["requests"] == {"storage": "1Gi"}
        assert "storageClassName" not in claim["spec"]  # the cluster's default
        (container,) = spec["template"]["spec"]["containers"]
        [mount] = [m for m in container["volumeMounts"] if m["name"] == "data"]
        assert not mount.get("readOnly")
        config_file = tmp_path / f"{zone}.yaml"
        config_file.write_text(
            _one(mocks, "core/v1:ConfigMap", f"{zone}-control-plane")["data"]["control-plane.yaml"]
        )
        settings = cp_config.load(config_file)
        assert str(settings.data_dir) == mount["mountPath"]
        assert settings.store.type.value == "sqlite" and settings.sqlite_path.parent == Path(
            mount["mountPath"]
        )


def test_the_control_plane_volume_takes_its_size_and_storage_class_from_the_stack(
    mocks: MeshMocks,
) -> None:
    """Pulumi's mocks stand in for the cluster: no cloud can run here."""
    _deploy(mocks, control_plane_storage="20Gi", storage_class="gp3")
    for zone in KUBERNETES_ZONES:
        spec = _one(mocks, "apps/v1:StatefulSet", f"{zone}-control-plane")["spec"]
        [claim] = spec["volumeClaimTemplates"]
        assert claim["spec"]["resources"]["requests"] == {"storage": "20Gi"}
        assert claim["spec"]["storageClassName"] == "gp3"


def test_a_volume_size_kubernetes_cannot_read_is_refused() -> None:
    with pytest.raises(ConfigError, match="control_plane_storage"):
        parse_kubernetes_config(
            {"image": "i", "aws_stack": AWS_STACK, "zones": _zones(), "control_plane_storage": "1G"}
        )
