"""Resource documents as people write them: files, directories or stdin, with variables.

Reading, substituting, parsing and ordering happen here, before any request is sent, so
that a typo in a file is reported with its file and document number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from meshfabric.cli.catalogue import Catalogue, ResourceTypeInfo
from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.yaml_input import load_all, read_text

STDIN = "-"
DEFAULT_MESH = "default"
MANIFEST_SUFFIXES = (".yaml", ".yml")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")


@dataclass(frozen=True)
class Source:
    label: str
    text: str


@dataclass(frozen=True)
class Manifest:
    """One resource document, with `mesh` filled in for mesh-scoped types."""

    rtype: ResourceTypeInfo
    body: dict[str, Any]
    origin: str  # where it was written: "policies.yaml, document 2"

    @property
    def name(self) -> str:
        return str(self.body["name"])

    @property
    def mesh(self) -> str:
        return str(self.body.get("mesh", ""))

    def describe(self) -> str:
        return self.rtype.describe(self.mesh, self.name)


def read_sources(locations: Iterable[str], stdin: TextIO) -> list[Source]:
    """Each file as given, each directory's *.yaml and *.yml files sorted by name, `-` stdin."""
    sources = []
    for location in locations:
        if location == STDIN:
            sources.append(Source("<stdin>", _read_stdin(stdin)))
            continue
        path = Path(location)
        if not path.exists():
            raise MeshctlError(f"{location}: no such file or directory")
        files = _manifest_files(path) if path.is_dir() else [path]
        sources += [Source(str(file), read_text(file)) for file in files]
    return sources


def load(
    sources: Iterable[Source], variables: Mapping[str, str], catalogue: Catalogue
) -> list[Manifest]:
    """Every document of every source, in the order they must be applied."""
    manifests = [
        manifest
        for source in sources
        for manifest in parse(substitute(source, variables), catalogue)
    ]
    _refuse_duplicates(manifests)
    return in_apply_order(manifests)


def substitute(source: Source, variables: Mapping[str, str]) -> Source:
    """Replace each `{{ name }}` with its --var value; an undefined name is an error."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise MeshctlError(
                f'{source.label}: variable "{name}" is not defined; pass --var {name}=VALUE'
            )
        return variables[name]

    return Source(source.label, _VARIABLE.sub(value_of, source.text))


def parse(source: Source, catalogue: Catalogue) -> list[Manifest]:
    documents = load_all(source.text, source.label)
    return [
        _manifest(document, f"{source.label}, document {number}", catalogue)
        for number, document in enumerate(documents, start=1)
        if document is not None  # `---` twice in a row, or at the end, makes an empty one
    ]


def in_apply_order(manifests: Iterable[Manifest]) -> list[Manifest]:
    """In the control plane's apply order (what others refer to first); file order within
    each type (a stable sort)."""
    return sorted(manifests, key=lambda manifest: manifest.rtype.apply_order)


def _manifest(document: Any, origin: str, catalogue: Catalogue) -> Manifest:
    if not isinstance(document, dict):
        raise MeshctlError(f"{origin}: expected a resource (a mapping with type and name)")
    for required in ("type", "name"):
        if not isinstance(document.get(required), str) or not document[required]:
            raise MeshctlError(f"{origin}: `{required}` must be a non-empty string")
    try:
        rtype = catalogue.by_name(document["type"])
    except MeshctlError as error:
        raise MeshctlError(f"{origin}: {error}") from None
    body = dict(document)
    if rtype.mesh_scoped:
        body.setdefault("mesh", DEFAULT_MESH)
    return Manifest(rtype, body, origin)


def _read_stdin(stdin: TextIO) -> str:
    try:
        return stdin.read()
    except UnicodeDecodeError:
        raise MeshctlError("<stdin>: not UTF-8 text; send it as UTF-8") from None


def _manifest_files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if p.suffix in MANIFEST_SUFFIXES and p.is_file())
    if not files:
        raise MeshctlError(f"{directory}: no *.yaml or *.yml files in this directory")
    return files


def _refuse_duplicates(manifests: Iterable[Manifest]) -> None:
    """Two documents for one resource would make the second silently win."""
    seen: dict[str, str] = {}
    for manifest in manifests:
        key = manifest.describe()
        if key in seen:
            raise MeshctlError(f"{key} is defined twice: {seen[key]} and {manifest.origin}")
        seen[key] = manifest.origin
