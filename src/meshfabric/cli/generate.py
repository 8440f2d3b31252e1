"""meshctl generate: tokens issued by the control plane (printed to stdout)."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from meshfabric.cli.args import command_group
from meshfabric.cli.session import connect

app = command_group("Generate tokens.")

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
