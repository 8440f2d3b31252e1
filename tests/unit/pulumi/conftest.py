"""Pulumi mocks for the meshfabric programs.

No Pulumi engine, provider plugin or cloud account can run in the test
environment, so every resource is registered against `pulumi.runtime.set_mocks`:
the programs run for real, the cloud answers from `MeshMocks`.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import pytest

REPO = Path(__file__).resolve().parents[3]
for program_dir in ("pulumi", "pulumi/aws", "pulumi/kubernetes"):
    if str(REPO / program_dir) not in sys.path:
        sys.path.append(str(REPO / program_dir))

with warnings.catch_warnings():
    # pulumi_aws marks some of its own modules deprecated at import time.
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulumi_aws  # noqa: F401

T = TypeVar("T")


def mock_ip(name: str, first_octets: str) -> str:
    """A stable address derived from a resource name (registration order varies)."""
    digest = zlib.crc32(name.encode())
    return f"{first_octets}.{digest >> 8 & 0xFF}.{digest & 0xFF}"


def _computed_outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    name = args.name
    match args.typ:
        case "aws:ec2/eip:Eip":
            return {"publicIp": mock_ip(name, "198.51"), "allocationId": f"eipalloc-{name}"}
        case "aws:ec2/instance:Instance":
            return {"privateIp": mock_ip(name, "10.99")}
        case "aws:ec2/keyPair:KeyPair":
            return {"keyName": name}
        case "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::123456789012:role/{name}", "name": name}
        case "aws:eks/cluster:Cluster":
            return {
                "name": name,
                "endpoint": f"https://{name}.eks.example",
                "certificateAuthority": {"data": f"ca-of-{name}"},
            }
        case "kubernetes:core/v1:Service":
            return {"status": {"loadBalancer": {"ingress": [{"hostname": f"{name}.elb.example"}]}}}
    return {}


class MeshMocks(pulumi.runtime.Mocks):
    """Answers like the cloud would, and records what the program asked for."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: list[pulumi.runtime.MockCallArgs] = []
        self.stack_outputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        if args.typ == "pulumi:pulumi:StackReference":
            return f"{args.name}-id", {"outputs": self.stack_outputs.get(args.name, {})}
        return f"{args.name}-id", {**args.inputs, **_computed_outputs(args)}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append(args)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ["az-a", "az-b", "az-c", "az-d"]}, []
        if args.token == "aws:ec2/getAmi:getAmi":
            return {"id": "ami-debian12", "imageId": "ami-debian12"}, []
        return {}, []

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [resource for resource in self.resources if resource.typ == typ]

    def named(self, typ: str, name: str) -> pulumi.runtime.MockResourceArgs:
        (resource,) = [resource for resource in self.of_type(typ) if resource.name == name]
        return resource


@contextmanager
def fresh_mocks() -> Iterator[MeshMocks]:
    """Pulumi's mocks, new, on an event loop of their own for as long as they are used."""
    # Async tests that ran earlier leave the main thread without an event loop, and Pulumi's
    # mocks need one to register the stack.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = MeshMocks()
    pulumi.runtime.set_mocks(mocks, project="meshfabric-test", stack="test", preview=False)
    try:
        yield mocks
    finally:
        # set_mocks registers the stack in a task of this loop, which a test that runs no
        # program never awaits: finished here, it cannot haunt the next loop's programs.
        pending = asyncio.all_tasks(loop)
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture(autouse=True)
def mocks() -> Iterator[MeshMocks]:
    """Fresh mocks per test, so no test sees another's resources."""
    with fresh_mocks() as fresh:
        yield fresh


def run_program(program: Callable[[], T]) -> Any:
    """Run a Pulumi program to completion under the mocks; return its resolved outputs."""
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any]:
        return pulumi.Output.from_input(program()).apply(
            lambda value: resolved.setdefault("value", value)
        )

    run()
    return resolved["value"]


ADMIN_CIDR = "203.0.113.0/24"


def three_zone_config() -> dict[str, Any]:
    """Two universal zones (global control plane in the first) and one kubernetes zone."""
    return {
        "admin_cidr": ADMIN_CIDR,
        "ssh_public_key": "ssh-ed25519 AAAAtest ops@example.com",
        "global_control_plane": {"zone": "us-east-1"},
        "zones": [
            {
                "name": "us-east-1",
                "region": "us-east-1",
                "kind": "universal",
                "cidr": "10.10.0.0/16",
            },
            {
                "name": "eu-west-1",
                "region": "eu-west-1",
                "kind": "kubernetes",
                "cidr": "10.20.0.0/16",
            },
            {
                "name": "us-west-2",
                "region": "us-west-2",
                "kind": "universal",
                "cidr": "10.30.0.0/16",
            },
        ],
    }


def eip(name: str) -> str:
    """The mocked public address of a host's (or a NAT gateway's) Elastic IP."""
    return mock_ip(name, "198.51")


def run_aws_program(raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run pulumi/aws for `raw` (default: three_zone_config) and return its resolved outputs."""
    from meshfabric_aws.program import build
    from meshfabric_zones import parse_mesh_config

    config = parse_mesh_config(raw or three_zone_config())
    outputs: dict[str, Any] = run_program(lambda: build(config))
    return outputs
