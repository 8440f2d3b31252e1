"""Everything one kubernetes zone runs: its control plane, its ZoneIngress and, if asked
for, its ZoneEgress.

The control plane keeps its data directory (SQLite store, admin token, the CA of its xDS
certificate) on a persistent volume: a StatefulSet with a volume claim, so that a restarted
or rescheduled pod comes back with the same CA that the ingress's Secret trusts.

The egress pods register at their pod IP, which the zone's sidecars dial (the egress needs no
Service of its own, but gets a ClusterIP one like every workload here).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

XDS_PORT = 5678
REST_API_PORT = 5681
INGRESS_PORT = 10001
EGRESS_PORT = 10002
ZONE_PROXY_MESH = "default"  # an ingress (egress) serves the one mesh of its --mesh

CONFIG_DIR = "/etc/meshfabric"
DATA_DIR = "/var/lib/meshfabric"
DATA_VOLUME = "data"
TOKEN_DIR = "/var/run/secrets/meshfabric"
# The Secret an operator creates once the zone control plane runs (docs/pulumi.md): the
# ingress's dataplane token and the CA of the control plane's xDS certificate.
INGRESS_SECRET = "zone-ingress"
EGRESS_SECRET = "zone-egress"  # the same keys, for the egress
ADVERTISED_CONFIG_MAP = "zone-ingress-advertised"


@dataclass(frozen=True)
class ZoneDeploymentArgs:
    """Parameters:

    - zone: the zone's name.
    - image: the meshfabric image (it holds meshfabric-cp and meshfabric-dp).
    - namespace: where everything goes.
    - kds_address: the global control plane's KDS address (`grpcs://host:5685`).
    - zone_token: the token the zone presents to the global control plane.
    - ingress_sources: the CIDRs allowed through the ingress's load balancer.
    - ingress_replicas: how many ingress proxies.
    - egress_replicas: how many egress proxies (0: none).
    - control_plane_storage: the size of the control plane's volume (`1Gi`).
    - storage_class: the StorageClass of that volume; None takes the cluster's default.
    """

    zone: str
    image: str
    namespace: str
    kds_address: pulumi.Input[str]
    zone_token: pulumi.Input[str]
    ingress_sources: pulumi.Input[Sequence[str]]
    ingress_replicas: int
    egress_replicas: int = 0
    control_plane_storage: str = "1Gi"
    storage_class: str | None = None


@dataclass(frozen=True)
class Mount:
    """A ConfigMap or Secret (same name as the volume) mounted read-only at `path`."""

    name: str
    path: str
    kind: str = "config_map"
    optional: bool = False


@dataclass(frozen=True)
class DataVolume:
    """A persistent volume claim per pod, mounted read-write at `path`."""

    path: str
    size: str
    storage_class: str | None = None


@dataclass(frozen=True)
class Workload:
    """One Deployment (a StatefulSet when it has a data volume): what it runs and needs."""

    component: str
    replicas: int
    command: list[str]
    ports: dict[str, int]
    probe_port: int
    cpu: str
    memory: str
    memory_limit: str
    mounts: tuple[Mount, ...]
    env: tuple[k8s.core.v1.EnvVarArgs, ...] = ()  # Kubernetes expands $(NAME) in `command`
    data: DataVolume | None = None


def labels(zone: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "meshfabric",
        "app.kubernetes.io/component": component,
        "meshfabric.io/zone": zone,
    }


def load_balancer_address(service: k8s.core.v1.Service) -> pulumi.Output[str]:
    """The hostname (AWS) or IP (most other clouds) the load balancer got."""

    def first_address(status: Any) -> str:
        entry = status.load_balancer.ingress[0]
        return str(entry.hostname or entry.ip)

    return service.status.apply(first_address)


def control_plane_service(namespace: str) -> str:
    """The DNS name of the control plane's Service inside the cluster."""
    return f"control-plane.{namespace}.svc"


def zone_proxy_command(proxy_type: str, namespace: str, *args: str) -> list[str]:
    """How each ingress (egress) pod runs meshfabric-dp; $(POD_NAME) and $(POD_IP) are the
    pod's environment (see `pod_env`)."""
    return [
        "meshfabric-dp", "run", "--proxy-type", proxy_type,
        "--name", "$(POD_NAME)", "--mesh", ZONE_PROXY_MESH, "--address", "$(POD_IP)", *args,
        "--cp-address", f"grpcs://{control_plane_service(namespace)}:{XDS_PORT}",
        "--ca-cert-file", f"{TOKEN_DIR}/xds-ca.crt",
        "--dataplane-token-file", f"{TOKEN_DIR}/token",
    ]  # fmt: skip


def ingress_command(namespace: str) -> list[str]:
    """With $(ADVERTISED_ADDRESS) too (see `ingress_env`)."""
    return zone_proxy_command(
        "ingress", namespace, "--ingress-port", str(INGRESS_PORT),
        "--advertised-address", "$(ADVERTISED_ADDRESS)",
    )  # fmt: skip


def egress_command(namespace: str) -> list[str]:
    return zone_proxy_command("egress", namespace, "--egress-port", str(EGRESS_PORT))


def pod_env() -> tuple[k8s.core.v1.EnvVarArgs, ...]:
    def field(name: str, path: str) -> k8s.core.v1.EnvVarArgs:
        source = k8s.core.v1.ObjectFieldSelectorArgs(field_path=path)
        return k8s.core.v1.EnvVarArgs(
            name=name, value_from=k8s.core.v1.EnvVarSourceArgs(field_ref=source)
        )

    return (field("POD_NAME", "metadata.name"), field("POD_IP", "status.podIP"))


def ingress_env() -> tuple[k8s.core.v1.EnvVarArgs, ...]:
    advertised = k8s.core.v1.ConfigMapKeySelectorArgs(name=ADVERTISED_CONFIG_MAP, key="address")
    return (
        *pod_env(),
        k8s.core.v1.EnvVarArgs(
            name="ADVERTISED_ADDRESS",
            value_from=k8s.core.v1.EnvVarSourceArgs(config_map_key_ref=advertised),
        ),
    )


def zone_proxy_workload(
    component: str,
    replicas: int,
    command: list[str],
    port: int,
    secret: str,
    env: tuple[k8s.core.v1.EnvVarArgs, ...],
) -> Workload:
    """An ingress or egress: one meshfabric-dp per pod, its token and CA from `secret`."""
    return Workload(
        component,
        replicas,
        command,
        {"proxy": port},
        port,
        cpu="100m",
        memory="128Mi",
        memory_limit="256Mi",
        # Optional: the pod gets its address (and so a load balancer its endpoints) before
        # the operator has created the Secret.
        mounts=(Mount(secret, TOKEN_DIR, kind="secret", optional=True),),
        env=env,
    )


class ZoneDeployment(pulumi.ComponentResource):
    """A zone's control plane, its ZoneIngress behind a LoadBalancer, and its ZoneEgress.

    The ingress's advertised address (what other zones dial) is the address
    its LoadBalancer service receives, which meshfabric-dp needs at start.
    Pulumi reports that address once the service has endpoints; the service
    publishes its pods before they are ready, so the address comes before the
    ingress starts. It reaches the pods through the ConfigMap
    `zone-ingress-advertised` as $(ADVERTISED_ADDRESS): until Pulumi has written
    it, the kubelet holds the container back and retries.
    """

    advertised_address: pulumi.Output[str]

    def __init__(
        self, name: str, args: ZoneDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshfabric:kubernetes:ZoneDeployment", name, None, opts)
        self._name = name
        self._args = args
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=self._metadata(args.namespace, "namespace", namespaced=False),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._namespace = namespace.metadata.name
        control_plane_host = control_plane_service(args.namespace)

        k8s.core.v1.Secret(
            f"{name}-zone-token",
            metadata=self._metadata("zone-token", "control-plane"),
            string_data={"token": args.zone_token},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._config_map(
            "control-plane",
            pulumi.Output.from_input(args.kds_address).apply(
                lambda kds: {  # meshfabric-cp's configuration file (docs/control-plane.md)
                    "mode": "zone",
                    "data_dir": DATA_DIR,
                    "zone": {
                        "name": args.zone,
                        "global_address": kds,
                        "token_file": f"{TOKEN_DIR}/token",
                    },
                    "api": {"port": REST_API_PORT},
                    # The name the ingress dials, so that its TLS check passes.
                    "xds": {"port": XDS_PORT, "tls_extra_sans": [control_plane_host]},
                }
            ),
        )
        self._workload(
            Workload(
                "control-plane",
                1,
                ["meshfabric-cp", "run", "--config", f"{CONFIG_DIR}/control-plane.yaml"],
                {"xds": XDS_PORT, "api": REST_API_PORT},
                XDS_PORT,
                cpu="250m",
                memory="256Mi",
                memory_limit="512Mi",
                mounts=(
                    Mount("control-plane", CONFIG_DIR),
                    Mount("zone-token", TOKEN_DIR, kind="secret"),
                ),
                data=DataVolume(DATA_DIR, args.control_plane_storage, args.storage_class),
            ),
            service_type="ClusterIP",
        )

        ingress = self._workload(
            zone_proxy_workload(
                "zone-ingress", args.ingress_replicas, ingress_command(args.namespace),
                INGRESS_PORT, INGRESS_SECRET, ingress_env(),
            ),
            service_type="LoadBalancer",
        )  # fmt: skip
        if args.egress_replicas:
            self._workload(
                zone_proxy_workload(
                    "zone-egress", args.egress_replicas, egress_command(args.namespace),
                    EGRESS_PORT, EGRESS_SECRET, pod_env(),
                ),
                service_type="ClusterIP",
            )  # fmt: skip
        self.advertised_address = load_balancer_address(ingress)
        k8s.core.v1.ConfigMap(
            f"{name}-zone-ingress-advertised",
            metadata=self._metadata(ADVERTISED_CONFIG_MAP, "zone-ingress"),
            data={"address": self.advertised_address},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"advertised_address": self.advertised_address})

    def _metadata(
        self, object_name: pulumi.Input[str], component: str, namespaced: bool = True
    ) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name,
            namespace=self._namespace if namespaced else None,
            labels=labels(self._args.zone, component),
        )

    def _config_map(self, component: str, content: pulumi.Input[dict[str, Any]]) -> None:
        # JSON is valid YAML; the processes read `<component>.yaml`.
        k8s.core.v1.ConfigMap(
            f"{self._name}-{component}",
            metadata=self._metadata(component, component),
            data=pulumi.Output.from_input(content).apply(
                lambda body: {f"{component}.yaml": json.dumps(body, indent=2, sort_keys=True)}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _workload(self, workload: Workload, service_type: str) -> k8s.core.v1.Service:
        """A Deployment (StatefulSet), its Service and a PodDisruptionBudget."""
        component = workload.component
        selector = labels(self._args.zone, component)
        child = pulumi.ResourceOptions(parent=self)
        template = k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=selector),
            spec=self._pod_spec(workload),
        )
        match_labels = k8s.meta.v1.LabelSelectorArgs(match_labels=selector)
        if workload.data is None:
            k8s.apps.v1.Deployment(
                f"{self._name}-{component}",
                metadata=self._metadata(component, component),
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    replicas=workload.replicas, selector=match_labels, template=template
                ),
                opts=child,
            )
        else:
            k8s.apps.v1.StatefulSet(
                f"{self._name}-{component}",
                metadata=self._metadata(component, component),
                spec=k8s.apps.v1.StatefulSetSpecArgs(
                    replicas=workload.replicas,
                    service_name=component,
                    selector=match_labels,
                    template=template,
                    volume_claim_templates=[self._claim(component, workload.data)],
                ),
                opts=child,
            )
        # Voluntary disruptions (node drains, upgrades) take one pod at a time.
        k8s.policy.v1.PodDisruptionBudget(
            f"{self._name}-{component}",
            metadata=self._metadata(component, component),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            ),
            opts=child,
        )
        is_ingress = service_type == "LoadBalancer"
        return k8s.core.v1.Service(
            f"{self._name}-{component}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=component,
                namespace=self._namespace,
                labels=selector,
                # An NLB passes TCP through untouched: the ingress does SNI
                # routing on the client's TLS handshake.
                annotations={"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
                if is_ingress
                else None,
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type=service_type,
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(name=port_name, port=port, target_port=port)
                    for port_name, port in workload.ports.items()
                ],
                load_balancer_source_ranges=self._args.ingress_sources if is_ingress else None,
                publish_not_ready_addresses=True if is_ingress else None,
            ),
            opts=child,
        )

    def _claim(self, component: str, data: DataVolume) -> k8s.core.v1.PersistentVolumeClaimArgs:
        return k8s.core.v1.PersistentVolumeClaimArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=DATA_VOLUME, labels=labels(self._args.zone, component)
            ),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=data.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                    requests={"storage": data.size}
                ),
            ),
        )

    def _pod_spec(self, workload: Workload) -> k8s.core.v1.PodSpecArgs:
        component = workload.component
        probe = k8s.core.v1.TCPSocketActionArgs(port=workload.probe_port)
        container = k8s.core.v1.ContainerArgs(
            name=component,
            image=self._args.image,
            command=workload.command,
            env=list(workload.env) or None,
            ports=[
                k8s.core.v1.ContainerPortArgs(name=name, container_port=port)
                for name, port in workload.ports.items()
            ],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": workload.cpu, "memory": workload.memory},
                limits={"memory": workload.memory_limit},
            ),
            readiness_probe=k8s.core.v1.ProbeArgs(tcp_socket=probe, period_seconds=5),
            liveness_probe=k8s.core.v1.ProbeArgs(
                tcp_socket=probe, initial_delay_seconds=15, period_seconds=10
            ),
            volume_mounts=_volume_mounts(workload),
        )
        return k8s.core.v1.PodSpecArgs(
            containers=[container], volumes=[_volume(mount) for mount in workload.mounts]
        )


def _volume_mounts(workload: Workload) -> list[k8s.core.v1.VolumeMountArgs]:
    mounts = [
        k8s.core.v1.VolumeMountArgs(name=mount.name, mount_path=mount.path, read_only=True)
        for mount in workload.mounts
    ]
    if workload.data is not None:
        mounts.append(k8s.core.v1.VolumeMountArgs(name=DATA_VOLUME, mount_path=workload.data.path))
    return mounts


def _volume(mount: Mount) -> k8s.core.v1.VolumeArgs:
    if mount.kind == "secret":
        return k8s.core.v1.VolumeArgs(
            name=mount.name,
            secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=mount.name, optional=mount.optional
            ),
        )
    return k8s.core.v1.VolumeArgs(
        name=mount.name,
        config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=mount.name, optional=mount.optional),
    )
