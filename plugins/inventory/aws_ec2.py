# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_ec2
short_description: Mesh hosts from the EC2 instances the Pulumi program tagged
version_added: 0.1.0
description:
  - Finds the running EC2 instances tagged C(meshfabric:zone) and
    C(meshfabric:role) in every region given, and builds the same groups and
    host variables as P(meshfabric.mesh.pulumi#inventory) does from the
    stack's C(inventory) output (see C(docs/inventory.md)).
  - Groups are C(global_control_plane), C(zone_control_plane), C(zone_ingress),
    C(zone_egress), C(dataplanes) and one C(zone_<name>) group per zone.
  - The host name is the instance's C(Name) tag.
  - The inventory file must be named C(aws_ec2.yml) or C(aws_ec2.yaml), or end with one of those.
requirements:
  - boto3
options:
  plugin:
    description: Marks this file as a source for this plugin.
    required: true
    type: str
    choices: [meshfabric.mesh.aws_ec2]
  regions:
    description:
      - The regions to search.
      - When empty, every region the account can use is searched.
    type: list
    elements: str
    default: []
  ssh_user:
    description: The C(ansible_user) of every host.
    type: str
    default: admin
  endpoint_url:
    description:
      - EC2 endpoint to use instead of the public one of each region, such as a
        VPC endpoint or an EC2 emulator.
    type: str
    env:
      - name: AWS_ENDPOINT_URL_EC2
  profile:
    description: AWS profile with the credentials; the usual boto3 credential chain otherwise.
    type: str
    env:
      - name: AWS_PROFILE
"""

EXAMPLES = r"""
# inventory/mesh.aws_ec2.yml
plugin: meshfabric.mesh.aws_ec2
regions:
  - us-east-1
  - eu-west-1
ssh_user: admin
"""

from collections.abc import Iterator
from typing import Any

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

from ansible_collections.meshfabric.mesh.plugins.module_utils.inventory import (
    SUPPORTED_VERSION,
    InventoryDataError,
    populate_inventory,
)

try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # parse() says boto3 is needed
    boto3 = None

ZONE_TAG = "meshfabric:zone"
ROLE_TAG = "meshfabric:role"
# Instances on their way out are no longer part of the mesh.
LIVE_STATES = ["pending", "running"]
# Region used only to ask which regions exist.
DISCOVERY_REGION = "us-east-1"


def host_entry(instance: dict[str, Any], region: str) -> dict[str, Any]:
    """One host of the inventory document from an EC2 instance description."""
    tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags") or []}
    return {
        "name": tags.get("Name") or instance["InstanceId"],
        "zone": tags[ZONE_TAG],
        "region": region,
        "role": tags[ROLE_TAG],
        "instance_id": instance["InstanceId"],
        "private_ip": instance.get("PrivateIpAddress"),
        "public_ip": instance.get("PublicIpAddress"),
    }


def inventory_document(hosts: list[dict[str, Any]], ssh_user: str) -> dict[str, Any]:
    """The document of docs/inventory.md; zones are those the hosts are in."""
    zones = sorted({(h["zone"], h["region"]) for h in hosts if h["zone"] != "global"})
    return {
        "version": SUPPORTED_VERSION,
        "ssh_user": ssh_user,
        "zones": [{"name": zone, "region": region} for zone, region in zones],
        "hosts": sorted(hosts, key=lambda host: host["name"]),
    }


class InventoryModule(BaseInventoryPlugin):
    """Hosts and groups from the tagged EC2 instances of every region given."""

    NAME = "meshfabric.mesh.aws_ec2"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("aws_ec2.yml", "aws_ec2.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if boto3 is None:
            raise AnsibleError("the meshfabric.mesh.aws_ec2 inventory plugin needs boto3")
        session = boto3.session.Session(profile_name=self.get_option("profile"))
        try:
            hosts = list(self._hosts(session))
        except (BotoCoreError, ClientError) as error:
            raise AnsibleParserError(f"{path}: EC2 request failed: {error}") from error
        try:
            populate_inventory(
                self.inventory, inventory_document(hosts, self.get_option("ssh_user"))
            )
        except InventoryDataError as error:
            message = f"{path}: the tagged instances do not form an inventory: {error}"
            raise AnsibleParserError(message) from error

    def _client(self, session: Any, region: str) -> Any:
        endpoint_url = self.get_option("endpoint_url")
        return session.client("ec2", region_name=region, endpoint_url=endpoint_url)

    def _regions(self, session: Any) -> list[str]:
        regions = self.get_option("regions")
        if regions:
            return list(regions)
        described = self._client(session, DISCOVERY_REGION).describe_regions()["Regions"]
        return sorted(region["RegionName"] for region in described)

    def _hosts(self, session: Any) -> Iterator[dict[str, Any]]:
        filters = [
            {"Name": "tag-key", "Values": [ZONE_TAG]},
            {"Name": "tag-key", "Values": [ROLE_TAG]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ]
        for region in self._regions(session):
            paginator = self._client(session, region).get_paginator("describe_instances")
            for page in paginator.paginate(Filters=filters):
                for reservation in page["Reservations"]:
                    for instance in reservation["Instances"]:
                        yield host_entry(instance, region)
