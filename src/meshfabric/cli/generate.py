"""meshctl generate: tokens issued by the control plane (printed to stdout), and the mesh's
dashboards (written to files, offline)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from meshfabric.cli.args import command_group
from meshfabric.cli.session import connect
from meshfabric.telemetry import write_dashboards

app = command_group("Generate tokens and dashboards.")

ValidForOption = Annotated[str, typer.Option(help="Lifetime, e.g. 30m, 24h, 8760h.")]


class ZoneScope(enum.StrEnum):
    CP = "cp"
    INGRESS = "ingress"
    EGRESS = "egress"


@app.command("user-token")
def user_token(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who the token identifies.")],
    groups: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            metavar="GROUP",
            help="A group of the user; repeatable. mesh-system:admin may write.",
            show_default=False,
        ),
    ] = None,
    valid_for: ValidForOption = "24h",
) -> None:
    """Issue a token for a person or a program that uses the API.

    \b
    Examples:
      meshctl generate user-token --name alice@kong-air.example --valid-for 8h
      meshctl generate user-token --name ci --group mesh-system:admin > ci-token
    """
    request = {"name": name, "groups": groups or [], "validFor": valid_for}
    typer.echo(connect(ctx).issue_token("user", request))


@app.command("zone-token")
def zone_token(
    ctx: typer.Context,
    zone: Annotated[str, typer.Option(help="Name of the zone.")],
    scopes: Annotated[
        list[ZoneScope] | None,
        typer.Option(
            "--scope", help="What the token may run: cp, ingress, egress; repeatable. [default: cp]"
        ),
    ] = None,
    valid_for: ValidForOption = "8760h",
) -> None:
    """Issue the token a zone control plane (or its ingress, egress) presents to global.

    \b
    Examples:
      meshctl generate zone-token --zone us-east-1 > us-east-1.token
      meshctl generate zone-token --zone eu-west-1 --scope cp --scope ingress --valid-for 720h
    """
    request = {"zone": zone, "scope": [s.value for s in scopes or [ZoneScope.CP]]}
    typer.echo(connect(ctx).issue_token("zone", {**request, "validFor": valid_for}))


class ProxyType(enum.StrEnum):
    DATAPLANE = "dataplane"
    INGRESS = "ingress"
    EGRESS = "egress"


@app.command("dataplane-token")
def dataplane_token(
    ctx: typer.Context,
    mesh: Annotated[str, typer.Option(help="Mesh the token is valid in.")] = "default",
    tags: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            metavar="KEY=VALUE",
            help="A tag the dataplane's inbounds may carry, e.g. kuma.io/service=web; repeatable.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Bind the token to this dataplane only.", show_default=False)
    ] = None,
    proxy_type: Annotated[ProxyType, typer.Option(help="What the token may run.")] = (
        ProxyType.DATAPLANE
    ),
    valid_for: ValidForOption = "24h",
) -> None:
    """Issue the token a proxy presents to register and to receive its config.

    \b
    Examples:
      meshctl generate dataplane-token --mesh kong-air --tag kuma.io/service=booking
      meshctl generate dataplane-token --name flight-control-1 --valid-for 720h
    """
    request: dict[str, object] = {
        "mesh": mesh,
        "tags": _tags(tags or []),
        "type": proxy_type.value,
        "validFor": valid_for,
    }
    if name:
        request["name"] = name
    typer.echo(connect(ctx).issue_token("dataplane", request))


@app.command("dashboards")
def dashboards(
    output_dir: Annotated[
        Path, typer.Option(help="Where to write grafana/*.json and consoles/meshfabric.html.")
    ],
) -> None:
    """Write the Grafana dashboards (mesh, zone, service, control plane) and the Prometheus
    console page that shows the same figures; needs no control plane.

    \b
    Examples:
      meshctl generate dashboards --output-dir roles/telemetry/files
    """
    for path in write_dashboards(output_dir):
        typer.echo(path)


def _tags(pairs: list[str]) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not (separator and key and value):
            raise typer.BadParameter(f'"{pair}" is not KEY=VALUE', param_hint="--tag")
        tags.setdefault(key, []).append(value)
    return tags
