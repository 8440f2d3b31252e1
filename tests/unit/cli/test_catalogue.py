from __future__ import annotations

import pytest

from meshfabric.cli.catalogue import Catalogue
from meshfabric.cli.errors import MeshctlError
from tests.unit.cli.conftest import MESH, MTP


@pytest.mark.parametrize(
    "word",
    ["MeshTrafficPermission", "meshtrafficpermission", "meshtrafficpermissions", "mtp", "MTP"],
)
def test_find_takes_the_names_people_type(catalogue: Catalogue, word: str) -> None:
    assert catalogue.find(word) is MTP


def test_find_names_the_known_types_when_it_fails(catalogue: Catalogue) -> None:
    with pytest.raises(MeshctlError, match=r'unknown resource type "mtps".*meshtrafficpermissions'):
        catalogue.find("mtps")


def test_by_name_is_exact(catalogue: Catalogue) -> None:
    assert catalogue.by_name("Mesh") is MESH
    with pytest.raises(MeshctlError):
        catalogue.by_name("mesh")


@pytest.mark.parametrize("word", ["meshtrafficpermission", "meshtrafficpermissions", "mtp"])
def test_a_type_field_spelled_as_people_type_it_suggests_the_exact_name(
    catalogue: Catalogue, word: str
) -> None:
    with pytest.raises(MeshctlError, match=f'"{word}"; did you mean "MeshTrafficPermission"') as e:
        catalogue.by_name(word)
    assert "meshtrafficpermissions," not in str(e.value)  # no plural paths to copy


def test_an_unknown_type_field_lists_the_type_names(catalogue: Catalogue) -> None:
    with pytest.raises(MeshctlError, match=r'"MeshFoo"; types: .*MeshTrafficPermission'):
        catalogue.by_name("MeshFoo")


def test_describe_names_the_mesh_only_for_mesh_scoped_types() -> None:
    assert MTP.describe("default", "allow-all") == "MeshTrafficPermission default/allow-all"
    assert MESH.describe("ignored", "default") == "Mesh default"
