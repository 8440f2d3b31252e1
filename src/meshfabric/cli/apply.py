"""meshctl apply: create or update resources from YAML, all or nothing at validation."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from meshfabric.cli import manifests
from meshfabric.cli.args import parse_pairs
from meshfabric.cli.client import ControlPlaneClient
from meshfabric.cli.errors import ApiError, MeshctlError
from meshfabric.cli.manifests import Manifest
from meshfabric.cli.output import print_diff, resource_diff
from meshfabric.cli.session import connect


@dataclass(frozen=True)
class Planned:
    """What the server's dry run said a write of one document would do."""

    manifest: Manifest
    outcome: str  # created, updated or unchanged
    answer: dict[str, Any]  # the resource as the server would store it


def apply(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Option(
            "--file",
            "-f",
            metavar="FILE|DIR|-",
            help="A YAML file, a directory (its *.yaml and *.yml files) or - for stdin; "
            "repeatable.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Say what would change, with a diff of each update; write nothing."
        ),
    ] = False,
    variables: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            "-v",
            metavar="KEY=VALUE",
            help="KEY=VALUE substituted for {{ KEY }} in the files; repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create or update resources from multi-document YAML.

    Meshes and other global types are applied first, then the rest in file order; a
    document without `mesh` goes to the mesh "default". The control plane validates
    every document (a dry run) before anything is written, so a batch with one invalid
    document applies nothing; its field paths and reasons are printed.

    \b
    Examples:
      meshctl apply -f mesh.yaml
      meshctl apply -f policies/ --dry-run
      meshctl apply -f timeouts.yaml --var service=flight-control --var timeout=5s
      cat policies.yaml | meshctl apply -f -
    """
    sources = manifests.read_sources(files, sys.stdin)
    client = connect(ctx)
    batch = manifests.load(sources, parse_pairs(variables or (), "--var"), client.catalogue())
    planned = plan(client, batch)
    if dry_run:
        report(client, planned)
        return
    for manifest in batch:
        answer = client.put(manifest.rtype, manifest.body)
        typer.echo(f"{manifest.describe()} {answer['outcome']}")
        for warning in answer.get("warnings") or []:
            typer.echo(f"Warning: {manifest.describe()}: {warning}", err=True)


def plan(client: ControlPlaneClient, batch: Sequence[Manifest]) -> list[Planned]:
    """Dry-run every document in order; stop at the first the server refuses."""
    planned: list[Planned] = []
    for manifest in batch:
        try:
            answer = client.put(manifest.rtype, manifest.body, dry_run=True)
        except ApiError as error:
            if not _waits_for_mesh_in_batch(error, manifest, planned):
                subject = f"{manifest.describe()} ({manifest.origin})"
                raise MeshctlError(f"nothing was applied: {error.describe(subject)}") from None
            answer = {**manifest.body, "outcome": "created"}
        planned.append(Planned(manifest, answer["outcome"], answer))
    return planned


def report(client: ControlPlaneClient, planned: Sequence[Planned]) -> None:
    for item in planned:
        subject = item.manifest.describe()
        typer.echo(f"{subject} {item.outcome} (dry run)")
        if item.outcome == "updated":
            manifest = item.manifest
            current = client.get(manifest.rtype, manifest.mesh, manifest.name)
            print_diff(resource_diff(subject, current, item.answer))


def _waits_for_mesh_in_batch(
    error: ApiError, manifest: Manifest, planned: Sequence[Planned]
) -> bool:
    """Whether the only fault is a missing mesh that this batch creates before the document.

    A dry run cannot see a mesh the same batch creates. The server checks the mesh after
    everything else, so an error about the mesh alone means the document itself is valid.
    """
    fields = [parameter.field for parameter in error.invalid_parameters]
    return (
        error.status == 400
        and fields == ["mesh"]
        and any(
            item.manifest.rtype.name == "Mesh"
            and item.manifest.name == manifest.mesh
            and item.outcome == "created"
            for item in planned
        )
    )
