"""The aws_ec2 and pulumi inventory plugins agree on the same mesh.

EC2 is emulated by moto in server mode (a real HTTP endpoint on loopback),
because no cloud is reachable from the test machine. The test tags instances
in two regions the way the Pulumi program does, writes the Pulumi stack output
that describes the same hosts, and compares what ansible-inventory builds from
each.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.integration.ansible.conftest import BIN, Ansible, stop
from tests.support.net import free_port, wait_until

# (name, zone, region, role, public)
HOSTS = [
    ("global-cp-0", "global", "us-east-1", "global_control_plane", True),
    ("us-east-1-cp-0", "us-east-1", "us-east-1", "zone_control_plane", True),
    ("us-east-1-ingress-0", "us-east-1", "us-east-1", "zone_ingress", True),
    ("us-east-1-app-0", "us-east-1", "us-east-1", "dataplane", False),
    ("eu-west-1-cp-0", "eu-west-1", "eu-west-1", "zone_control_plane", True),
    ("eu-west-1-egress-0", "eu-west-1", "eu-west-1", "zone_egress", True),
    ("eu-west-1-app-0", "eu-west-1", "eu-west-1", "dataplane", False),
]
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def ec2_endpoint(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(url, process, log), 30, f"moto on {url} (log: {log})")
        yield url
    finally:
        stop(process)


def answers(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"moto_server exited: {log.read_text()[-2000:]}")
    try:
        return httpx.get(url + "/moto-api/", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def launch(endpoint: str) -> list[dict[str, Any]]:
    """Start the tagged instances; the inventory hosts they stand for."""
    hosts = []
    for name, zone, region, role, public in HOSTS:
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint, **_keys())
        image = ec2.describe_images()["Images"][0]["ImageId"]
        subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        tags = {"Name": name, "meshfabric:zone": zone, "meshfabric:role": role, "team": "air"}
        [instance] = ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            NetworkInterfaces=[
                {"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": public}
            ],
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        )["Instances"]
        described = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])
        instance = described["Reservations"][0]["Instances"][0]
        hosts.append(
            {
                "name": name,
                "zone": zone,
                "region": region,
                "role": role,
                "instance_id": instance["InstanceId"],
                "private_ip": instance["PrivateIpAddress"],
                "public_ip": instance.get("PublicIpAddress"),
            }
        )
    # An instance of something else in the account: not part of the mesh.
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint, **_keys())
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
    return hosts


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def plain(value: Any) -> Any:
    """Values without ansible-inventory's trust markers: data read from a file
    (the Pulumi output) is untrusted, the aws_ec2 plugin's own ssh_user option is not."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    return value


def members(inventory: dict[str, Any]) -> dict[str, list[str]]:
    """Group name to sorted host names (the order hosts were found in carries no meaning)."""
    return {
        name: sorted(group.get("hosts", [])) for name, group in inventory.items() if name != "_meta"
    }


def test_aws_ec2_and_pulumi_build_the_same_inventory(
    ansible: Ansible, ec2_endpoint: str, tmp_path: Path
) -> None:
    hosts = launch(ec2_endpoint)
    assert any(host["public_ip"] is None for host in hosts)
    stack_output = {
        "inventory": {
            "version": 1,
            "ssh_user": "admin",
            "zones": [
                {"name": "us-east-1", "region": "us-east-1", "kind": "universal"},
                {"name": "eu-west-1", "region": "eu-west-1", "kind": "universal"},
            ],
            "hosts": hosts,
        }
    }
    (tmp_path / "stack-output.json").write_text(json.dumps(stack_output))
    (tmp_path / "mesh.pulumi.yml").write_text(
        f"plugin: meshfabric.mesh.pulumi\npath: {tmp_path / 'stack-output.json'}\n"
    )
    (tmp_path / "mesh.aws_ec2.yml").write_text(
        "plugin: meshfabric.mesh.aws_ec2\n"
        "regions: [us-east-1, eu-west-1]\n"
        "ssh_user: admin\n"
        f"endpoint_url: {ec2_endpoint}\n"
    )

    from_pulumi = ansible.inventory(tmp_path / "mesh.pulumi.yml")
    from_ec2 = ansible.inventory(tmp_path / "mesh.aws_ec2.yml", env=CREDENTIALS)

    assert plain(from_ec2["_meta"]["hostvars"]) == plain(from_pulumi["_meta"]["hostvars"])
    groups = members(from_ec2)
    assert groups == members(from_pulumi)
    assert groups["global_control_plane"] == ["global-cp-0"]
    assert groups["zone_control_plane"] == ["eu-west-1-cp-0", "us-east-1-cp-0"]
    assert groups["zone_ingress"] == ["us-east-1-ingress-0"]
    assert groups["zone_egress"] == ["eu-west-1-egress-0"]
    assert groups["dataplanes"] == ["eu-west-1-app-0", "us-east-1-app-0"]
    assert groups["zone_eu_west_1"] == ["eu-west-1-app-0", "eu-west-1-cp-0", "eu-west-1-egress-0"]
    assert groups["zone_global"] == ["global-cp-0"]
    app = plain(from_ec2["_meta"]["hostvars"]["us-east-1-app-0"])
    assert app["ansible_host"] == app["meshfabric_private_ip"]
    assert app["meshfabric_public_ip"] is None
    assert app["ansible_user"] == "admin"
    assert app["meshfabric_region"] == "us-east-1"
    assert app["meshfabric_instance_id"].startswith("i-")
    assert len(from_ec2["_meta"]["hostvars"]) == len(HOSTS)
