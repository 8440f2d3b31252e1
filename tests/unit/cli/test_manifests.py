from __future__ import annotations

import io
from pathlib import Path

import pytest

from meshfabric.cli.catalogue import Catalogue
from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.manifests import Source, load, parse, read_sources, substitute

POLICY = """
type: MeshTrafficPermission
name: {name}
spec: {{}}
"""


def test_read_sources_takes_files_directories_in_name_order_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "b.yml").write_text("b")
    (tmp_path / "a.yaml").write_text("a")
    (tmp_path / "notes.txt").write_text("ignored")
    single = tmp_path / "single.yaml"
    single.write_text("single")
    sources = read_sources([str(single), str(tmp_path / "."), "-"], io.StringIO("piped"))
    assert [s.text for s in sources] == ["single", "a", "b", "single", "piped"]
    assert sources[-1].label == "<stdin>"


def test_read_sources_refuses_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(MeshctlError, match="no such file"):
        read_sources([str(tmp_path / "absent.yaml")], io.StringIO())
    with pytest.raises(MeshctlError, match=r"no \*\.yaml or \*\.yml files"):
        read_sources([str(tmp_path)], io.StringIO())


def test_substitute_replaces_variables_with_or_without_spaces() -> None:
    source = Source("f.yaml", "name: {{ service }}-{{zone}}")
    assert substitute(source, {"service": "flight-control", "zone": "us-east-1"}).text == (
        "name: flight-control-us-east-1"
    )


def test_substitute_names_the_undefined_variable_and_the_file() -> None:
    with pytest.raises(MeshctlError, match=r'f\.yaml: variable "timeout" is not defined'):
        substitute(Source("f.yaml", "{{ service }} {{ timeout }}"), {"service": "x"})


def test_parse_skips_empty_documents_and_numbers_them_as_written(catalogue: Catalogue) -> None:
    text = "---\n" + POLICY.format(name="one") + "---\n---\n" + POLICY.format(name="two")
    manifests = parse(Source("p.yaml", text), catalogue)
    assert [(m.name, m.origin) for m in manifests] == [
        ("one", "p.yaml, document 1"),
        ("two", "p.yaml, document 3"),
    ]


def test_parse_puts_mesh_scoped_documents_without_mesh_in_default(catalogue: Catalogue) -> None:
    (manifest,) = parse(Source("p.yaml", POLICY.format(name="x")), catalogue)
    assert manifest.mesh == "default"
    assert manifest.describe() == "MeshTrafficPermission default/x"
    (mesh,) = parse(Source("m.yaml", "type: Mesh\nname: kong-air"), catalogue)
    assert "mesh" not in mesh.body


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list", r"p\.yaml, document 1: expected a resource"),
        ("type: Mesh", r"p\.yaml, document 1: `name` must be a non-empty string"),
        ("type: MeshFoo\nname: x", r'p\.yaml, document 1: unknown resource type "MeshFoo"'),
        ("type: Mesh\nname: [", r"p\.yaml: not valid YAML"),
    ],
)
def test_parse_says_which_document_is_wrong(catalogue: Catalogue, text: str, message: str) -> None:
    with pytest.raises(MeshctlError, match=message):
        parse(Source("p.yaml", text), catalogue)


def test_load_orders_meshes_then_global_types_then_the_rest_in_file_order(
    catalogue: Catalogue,
) -> None:
    text = "\n---\n".join(
        [
            POLICY.format(name="first"),
            "type: Zone\nname: us-east-1",
            POLICY.format(name="second"),
            "type: Mesh\nname: default",
        ]
    )
    manifests = load([Source("p.yaml", text)], {}, catalogue)
    assert [m.describe() for m in manifests] == [
        "Mesh default",
        "Zone us-east-1",
        "MeshTrafficPermission default/first",
        "MeshTrafficPermission default/second",
    ]


def test_load_refuses_a_resource_defined_twice(catalogue: Catalogue) -> None:
    sources = [Source("a.yaml", POLICY.format(name="x")), Source("b.yaml", POLICY.format(name="x"))]
    with pytest.raises(MeshctlError, match=r"defined twice: a\.yaml, document 1 and b\.yaml"):
        load(sources, {}, catalogue)
