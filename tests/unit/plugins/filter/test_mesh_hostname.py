# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshfabric.mesh.plugins.filter.mesh_hostname import FilterModule

mesh_hostname = FilterModule().filters()["mesh_hostname"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "flight-control.svc.mesh.local"),
        ({"zone": "eu-west-1"}, "flight-control.svc.eu-west-1.mesh.local"),
        ({"multizone": True}, "flight-control.mzsvc.mesh.local"),
    ],
)
def test_hostnames(kwargs: dict[str, object], expected: str) -> None:
    assert mesh_hostname("flight-control", **kwargs) == expected


def test_a_multizone_service_has_no_zone() -> None:
    with pytest.raises(AnsibleFilterError, match="give no zone"):
        mesh_hostname("flight-control", zone="eu-west-1", multizone=True)


def test_a_name_is_required() -> None:
    with pytest.raises(AnsibleFilterError, match="service name is required"):
        mesh_hostname("")
