"""Entry point of `pulumi up` in pulumi/aws: read the stack config, build, export."""

import sys
from pathlib import Path

# Pulumi puts only this directory on sys.path; the zone config schema that
# both programs share lives one level up.
sys.path.append(str(Path(__file__).resolve().parent.parent))

import pulumi

from meshfabric_aws.program import build, read_stack_config
from meshfabric_zones import parse_mesh_config

for name, value in build(parse_mesh_config(read_stack_config(pulumi.Config()))).items():
    pulumi.export(name, value)
