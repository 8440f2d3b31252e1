"""Entry point of `pulumi up` in pulumi/kubernetes: read the stack config, deploy, export."""

import sys
from pathlib import Path

# Pulumi puts only this directory on sys.path; the zone config schema that
# both programs share lives one level up.
sys.path.append(str(Path(__file__).resolve().parent.parent))

import pulumi

from meshfabric_k8s.config import parse_kubernetes_config
from meshfabric_k8s.program import build, cluster_inputs, read_stack_config

stack_config = pulumi.Config()
config = parse_kubernetes_config(read_stack_config(stack_config))
inputs = cluster_inputs(
    config,
    kubeconfigs=stack_config.get_secret_object("kubeconfigs"),
    zone_tokens=stack_config.require_secret_object("zone_tokens"),
)
for name, value in build(config, inputs).items():
    pulumi.export(name, value)
