"""An EKS cluster for a kubernetes zone, from plain `aws.eks` resources.

Plain resources (rather than a packaged EKS component) keep every piece
visible in `pulumi preview` and in unit tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from meshfabric_aws.network import ZoneNetwork
from meshfabric_aws.tags import mesh_tags
from meshfabric_zones import Zone

_CLUSTER_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]
_NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
]


def _assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (the user's AWS credentials)."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
        }
    }
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {
                        "server": endpoint,
                        "certificate-authority-data": certificate_authority,
                    },
                }
            ],
            "users": [{"name": cluster_name, "user": user}],
            "contexts": [
                {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
            ],
            "current-context": cluster_name,
        }
    )


@dataclass(frozen=True)
class EksZoneArgs:
    """Parameters:

    - zone: the kubernetes zone's configuration.
    - network: its VPC.
    - admin_cidr: the only range allowed to reach the cluster's public API endpoint.
    """

    zone: Zone
    network: ZoneNetwork
    admin_cidr: str


class EksZone(pulumi.ComponentResource):
    """An EKS cluster and a managed node group in the zone's private subnets."""

    cluster: aws.eks.Cluster
    node_group: aws.eks.NodeGroup
    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: EksZoneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("meshfabric:aws:EksZone", name, None, opts)
        self._name = name
        self._zone = args.zone
        subnets = [*args.network.private_subnets, *args.network.public_subnets]
        cluster_role, cluster_policies = self._role("cluster", "eks", _CLUSTER_POLICIES)
        self.cluster = aws.eks.Cluster(
            f"{name}-cluster",
            role_arn=cluster_role.arn,
            version=args.zone.kubernetes_version,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[subnet.id for subnet in subnets],
                endpoint_private_access=True,
                endpoint_public_access=True,
                public_access_cidrs=[args.admin_cidr],
            ),
            tags=self._tags("cluster"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=cluster_policies),
        )
        node_role, node_policies = self._role("nodes", "ec2", _NODE_POLICIES)
        nodes = args.zone.node_group
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=[subnet.id for subnet in args.network.private_subnets],
            instance_types=[nodes.instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=nodes.desired_size, min_size=nodes.min_size, max_size=nodes.max_size
            ),
            tags=self._tags("nodes"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_policies),
        )
        self.kubeconfig = pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data
        ).apply(lambda parts: kubeconfig(parts[0], parts[1], parts[2], args.zone.region))
        self.register_outputs({"cluster_name": self.cluster.name})

    def _tags(self, suffix: str) -> dict[str, str]:
        return mesh_tags(self._zone.name, "kubernetes", f"{self._name}-{suffix}")

    def _role(
        self, suffix: str, service: str, policies: list[str]
    ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-{suffix}",
            assume_role_policy=_assume_role_policy(f"{service}.amazonaws.com"),
            tags=self._tags(suffix),
            opts=child,
        )
        attachments: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{suffix}-{policy.rsplit('/', 1)[-1]}",
                role=role.name,
                policy_arn=policy,
                opts=child,
            )
            for policy in policies
        ]
        return role, attachments
