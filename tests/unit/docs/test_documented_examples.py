"""Every documented example checked against the code it shows: each command line of
meshctl, meshfabric-cp and meshfabric-dp in a shell block is parsed by the real program
(an option that is removed or renamed fails here), each Kuma resource in a YAML block is
validated as the control plane validates it, each control-plane configuration file is
loaded as `meshfabric-cp run --config` loads it, and every Python module or script a
page runs exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from meshfabric.api.representation import from_json
from meshfabric.cli.main import app as meshctl
from meshfabric.cp import config as cp_config
from meshfabric.cp.cli import app as control_plane
from meshfabric.dp.cli import app as dataplane
from meshfabric.resources import REGISTRY
from tests.support.docs import PAGES, REPO, blocks, command_lines

PROGRAMS = {"meshctl": meshctl, "meshfabric-cp": control_plane, "meshfabric-dp": dataplane}
CALLS = [
    pytest.param(app, words, id=f"{where} {program} {' '.join(words[:2])}")
    for program, app in PROGRAMS.items()
    for where, words in command_lines(program)
]


def test_the_pages_show_every_program() -> None:
    shown = {param.id.split(" ")[1] for param in CALLS if param.id}
    assert shown == set(PROGRAMS)


@pytest.mark.parametrize(("app", "words"), CALLS)
def test_a_documented_command_line_is_accepted(app: typer.Typer, words: list[str]) -> None:
    # --help is eager: the words are parsed (unknown options and commands fail), then the
    # program stops before it would connect anywhere or read the files named.
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output


RESOURCE_MODULE = "meshfabric.mesh.resource"


def documented_resources() -> list[Any]:
    """Resources in YAML blocks, in the Ansible tasks of YAML blocks (the `resource`
    module's type, name, mesh and spec), and in the example files under examples/."""
    sources = [(block.where, block.text) for block in blocks("yaml") if "..." not in block.text]
    sources += [(str(f.relative_to(REPO)), f.read_text()) for f in REPO.glob("examples/**/*.yaml")]
    found = []
    for where, text in sources:
        for document in yaml.safe_load_all(text):
            tasks = document if isinstance(document, list) else [document]
            for item in tasks:
                resource = _resource_of(item)
                if resource is not None:
                    found.append(pytest.param(resource, id=f"{where} {resource['type']}"))
    return found


def _resource_of(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    task = item.get(RESOURCE_MODULE)
    if isinstance(task, dict) and "spec" in task:
        item = task
    return item if item.get("type") in REGISTRY else None


def test_the_examples_show_resources_of_each_kind() -> None:
    shown = {param.values[0]["type"] for param in documented_resources()}
    assert {"Dataplane", "Mesh", "MeshService", "MeshTrafficPermission"} <= shown


@pytest.mark.parametrize("document", documented_resources())
def test_a_documented_resource_is_valid(document: dict[str, Any]) -> None:
    rtype = REGISTRY.get(document["type"])
    mesh = str(document.get("mesh", "default"))
    resource = from_json(rtype, document, mesh, document["name"], document.get("labels") or {})
    rtype.validate(resource.spec)


def test_the_documented_control_plane_configuration_loads(tmp_path: Path) -> None:
    page = REPO / "docs" / "control-plane.md"
    [example] = [b for b in blocks("yaml") if b.page == page and "data_dir:" in b.text]
    path = tmp_path / "cp.yaml"
    path.write_text(example.text)
    settings = cp_config.load(path)
    assert settings.zone.name == "us-east-1"


def test_every_python_program_a_page_runs_exists() -> None:
    modules, scripts = set(), set()
    for page in PAGES:
        modules |= set(re.findall(r"python3? -m ([\w.]+)", page.read_text()))
        scripts |= set(re.findall(r"python3? ([\w/-]+\.py)", page.read_text()))
    assert scripts, "the pages run no script: the pattern is stale"
    for module in sorted(modules):
        importlib.import_module(module)
    assert [script for script in sorted(scripts) if not (REPO / script).is_file()] == []


def test_the_dataplane_page_shows_the_example_file_it_runs() -> None:
    example = (REPO / "examples" / "dataplanes" / "booking.yaml").read_text()
    uncommented = "".join(line for line in example.splitlines(True) if not line.startswith("#"))
    page = REPO / "docs" / "dataplane.md"
    assert uncommented in [block.text for block in blocks("yaml") if block.page == page]


# A benchmark's output shown in a page names the saved run it is copied from.
_QUOTED_RUN = re.compile(r"^```text (bench/results/\S+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_a_quoted_benchmark_run_is_copied_from_its_saved_file() -> None:
    quotes = [
        (page, match.group(1), match.group(2))
        for page in PAGES
        for match in _QUOTED_RUN.finditer(page.read_text())
    ]
    assert quotes, "no page quotes a saved benchmark run"
    for page, saved, text in quotes:
        assert text in (REPO / saved).read_text(), f"{page.name}: not copied from {saved}"
