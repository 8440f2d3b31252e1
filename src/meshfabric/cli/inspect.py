"""meshctl inspect: summaries of meshes, zones and of each resource type.

`inspect meshes` and `inspect zones` are commands of this group; any other word is taken
as a resource type. More commands (for example `inspect dataplane NAME`) are added to
`app` like any Typer command and take precedence over the type fallback.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from meshfabric.cli.args import OutputOption, TypeArgument, command_group
from meshfabric.cli.columns import mtls_backend
from meshfabric.cli.output import OutputFormat, age, print_data, print_table
from meshfabric.cli.session import connect

Json = dict[str, Any]
ORIGIN_LABEL = "kuma.io/origin"
ZONE_LABEL = "kuma.io/zone"
_BY_TYPE = "type"
DATAPLANE_COLUMNS = (
    *("NAME", "SERVICES", "STATUS", "LAST CONNECTED", "LAST UPDATED", "UPDATES", "ERRORS"),
    *("KUMA-DP", "ENVOY", "CERT EXPIRY"),
)


class _TypeFallbackGroup(TyperGroup):
    """Routes `inspect WORD` to the type summary when WORD is not one of its commands."""

    # Typed Any: typer's Context and Command classes live in a private, vendored click.
    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            args = [_BY_TYPE, *args]
        return super().resolve_command(ctx, args)


app = command_group(
    "Summaries of meshes, zones and resource types.\n\n"
    "`inspect meshes`, `inspect zones`, `inspect dataplanes`, `inspect dataplane NAME "
    "[--type config|config-dump|stats|clusters]`, or "
    "`inspect TYPE` for any resource type "
    "(for example `inspect mtp`).",
    cls=_TypeFallbackGroup,
)


@app.command("meshes")
def meshes(ctx: typer.Context, output: OutputOption = OutputFormat.TABLE) -> None:
    """Each mesh with its resource counts by type.

    Also its mTLS backend and age.

    \b
    Example:
      meshctl inspect meshes
    """
    client = connect(ctx)
    catalogue = client.catalogue()
    # One listing per type across all meshes: the number of requests does not grow with
    # the number of meshes.
    counts = Counter(
        (resource["mesh"], rtype.name)
        for rtype in catalogue
        if rtype.mesh_scoped
        for resource in client.list_all(rtype, None)
    )
    summaries = [
        {
            "name": mesh["name"],
            "mtls": mtls_backend(mesh),
            "creationTime": mesh.get("creationTime"),
            "resources": {
                rtype.name: counts[mesh["name"], rtype.name]
                for rtype in catalogue
                if counts[mesh["name"], rtype.name]
            },
        }
        for mesh in client.list_all(catalogue.by_name("Mesh"), None)
    ]
    if output is not OutputFormat.TABLE:
        print_data(summaries, output)
        return
    rows = [
        [s["name"], s["mtls"], age(s["creationTime"]), _counts(s["resources"])] for s in summaries
    ]
    print_table(["NAME", "MTLS", "AGE", "RESOURCES"], rows)


@app.command("zones")
def zones(ctx: typer.Context, output: OutputOption = OutputFormat.TABLE) -> None:
    """Each zone's state, control-plane version, ingresses and egresses.

    A warning follows the table for each zone a mesh cannot leave (the mesh requires
    zoneEgress and the zone has no egress).

    \b
    Example:
      meshctl inspect zones
    """
    overviews = connect(ctx).zones_overview()
    if output is not OutputFormat.TABLE:
        print_data(overviews, output)
        return
    print_table(
        ["NAME", "ENABLED", "STATUS", "CP VERSION", "CONNECTED", "INGRESSES", "EGRESSES"],
        [_zone_row(overview) for overview in overviews],
    )
    for overview in overviews:
        for warning in overview.get("warnings") or []:
            typer.echo(f"Warning: {warning}")


class InspectType(enum.StrEnum):
    """What `inspect dataplane` shows: the generated config, or what the proxy's Envoy says."""

    CONFIG = "config"
    CONFIG_DUMP = "config-dump"
    STATS = "stats"
    CLUSTERS = "clusters"


@app.command("dataplane")
def dataplane(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The dataplane.")],
    mesh: Annotated[str, typer.Option("--mesh", "-m", help="Its mesh.")] = "default",
    inspect_type: Annotated[
        InspectType,
        typer.Option(
            "--type",
            help="config: the Envoy config the control plane generates and the policies "
            "that matched; config-dump, stats, clusters: what the proxy's own Envoy reports "
            "(its admin /config_dump, /stats, /clusters), fetched through the control plane",
        ),
    ] = InspectType.CONFIG,
    include_eds: Annotated[
        bool, typer.Option(help="With --type config-dump: each cluster's endpoints too.")
    ] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """The Envoy config a dataplane gets, and the policies that shaped it; or its Envoy's
    config dump, stats or clusters.

    With --type config (the default) the table lists the policies that matched and the
    generated resources, after any warning about traffic the dataplane cannot send (a mesh
    that requires zoneEgress in a zone with no egress); -o yaml or -o json prints the whole
    config (private keys are never shown). --type config-dump prints Envoy's JSON, private
    keys and the dataplane token redacted; --type stats and --type clusters print Envoy's
    text. Those three need the proxy to be connected to its zone control plane; a global
    control plane forwards them to the zone.

    \b
    Examples:
      meshctl inspect dataplane flight-control-1 --mesh kong-air
      meshctl inspect dataplane booking-1 -o json
      meshctl inspect dataplane booking-1 --type config-dump --include-eds
      meshctl inspect dataplane booking-1 --type stats
      meshctl inspect dataplane booking-1 --type clusters
    """
    client = connect(ctx)
    if inspect_type is not InspectType.CONFIG:
        what = "xds" if inspect_type is InspectType.CONFIG_DUMP else inspect_type.value
        typer.echo(client.envoy_admin(mesh, name, what, include_eds), nl=False)
        return
    config = client.dataplane_config(mesh, name)
    if output is not OutputFormat.TABLE:
        print_data(config, output)
        return
    state = "connected" if config["connected"] else "not connected: the config it would get"
    typer.echo(f"Dataplane {mesh}/{name} ({state})\n")
    for warning in config.get("warnings") or []:
        typer.echo(f"Warning: {warning}\n")
    policies = config["policies"]
    print_table(
        ["POLICY TYPE", "MATCHED"],
        [[kind, ", ".join(names)] for kind, names in sorted(policies.items())] or [["-", "-"]],
    )
    typer.echo("")
    print_table(
        ["XDS", "RESOURCE"],
        [
            [kind.upper(), str(item.get("name") or item.get("clusterName") or "")]
            for kind, items in config["xds"].items()
            for item in items
        ],
    )


@app.command("dataplanes")
def dataplanes(
    ctx: typer.Context,
    mesh: Annotated[str, typer.Option("--mesh", "-m", help="Their mesh.")] = "default",
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Each dataplane with its state, its proxy's xDS subscription, versions and certificate.

    STATUS follows Kuma: Online when the proxy is connected and every inbound ready,
    Partially degraded when some inbound is not ready, Offline otherwise. KUMA-DP and
    ENVOY are the versions of the proxy's meshfabric-dp and Envoy, CERT EXPIRY when its
    mTLS certificate expires (UTC). -o yaml or -o json prints Kuma's DataplaneOverview
    of each.

    \b
    Example:
      meshctl inspect dataplanes --mesh kong-air
    """
    overviews = list(connect(ctx).dataplane_overviews(mesh))
    if output is not OutputFormat.TABLE:
        print_data(overviews, output)
        return
    print_table(DATAPLANE_COLUMNS, [dataplane_row(overview) for overview in overviews])


@app.command(_BY_TYPE, hidden=True)
def by_type(
    ctx: typer.Context, type_name: TypeArgument, output: OutputOption = OutputFormat.TABLE
) -> None:
    """How many resources of a type each mesh holds, where they come from, latest change.

    \b
    Examples:
      meshctl inspect meshtrafficpermissions
      meshctl inspect mtp -o yaml
    """
    client = connect(ctx)
    rtype = client.catalogue().find(type_name)
    summaries = summarize_by_mesh(client.list_all(rtype, None))
    if output is not OutputFormat.TABLE:
        print_data(summaries, output)
        return
    rows = [
        [s["mesh"] or "-", str(s["count"]), _counts(s["origins"]), age(s["lastModified"])]
        for s in summaries
    ]
    print_table(["MESH", "COUNT", "ORIGINS", "LAST MODIFIED"], rows)


def summarize_by_mesh(resources: Iterable[Json]) -> list[Json]:
    """Per mesh (sorted): count, count per origin, the latest modification time."""
    by_mesh: dict[str, list[Json]] = {}
    for resource in resources:
        by_mesh.setdefault(resource.get("mesh", ""), []).append(resource)
    return [
        {
            "mesh": mesh,
            "count": len(items),
            "origins": dict(Counter(origin(item) for item in items)),
            "lastModified": max(item.get("modificationTime") or "" for item in items) or None,
        }
        for mesh, items in sorted(by_mesh.items())
    ]


def origin(resource: Json) -> str:
    """Where a resource was created: global, a named zone, or here (no multi-zone labels)."""
    labels = resource.get("labels") or {}
    if labels.get(ORIGIN_LABEL) == "zone":
        return f"zone {labels.get(ZONE_LABEL, '?')}"
    return str(labels.get(ORIGIN_LABEL, "local"))


def _zone_row(overview: Json) -> list[str]:
    # Kuma's ZoneInsight: the latest subscription tells whether the zone is connected now.
    subscriptions = (overview.get("zoneInsight") or {}).get("subscriptions") or [{}]
    latest = subscriptions[-1]
    online = bool(latest.get("connectTime")) and not latest.get("disconnectTime")
    version = (latest.get("version") or {}).get("kumaCp", {}).get("version", "-")
    enabled = (overview.get("zone") or {}).get("enabled", True)
    return [
        overview["name"],
        str(enabled).lower(),
        "online" if online else "offline",
        version,
        age(latest.get("connectTime")),
        str(overview.get("zoneIngresses", "-")),
        str(overview.get("zoneEgresses", "-")),
    ]


def dataplane_row(overview: Json) -> list[str]:
    """A DataplaneOverview as a row of `inspect dataplanes` ("-" for what is not known)."""
    insight = overview.get("dataplaneInsight") or {}
    latest = (insight.get("subscriptions") or [{}])[-1]
    versions = latest.get("version") or {}
    inbounds = ((overview.get("dataplane") or {}).get("networking") or {}).get("inbound") or []
    totals = (latest.get("status") or {}).get("total") or {}
    services = sorted({str((i.get("tags") or {}).get("kuma.io/service", "")) for i in inbounds})
    return [
        overview["name"],
        ", ".join(filter(None, services)) or "-",
        dataplane_status(latest, inbounds),
        age(latest.get("connectTime")),
        age((latest.get("status") or {}).get("lastUpdateTime")),
        str(totals.get("responsesAcknowledged", 0)),
        str(totals.get("responsesRejected", 0)),
        (versions.get("kumaDp") or {}).get("version") or "-",
        (versions.get("envoy") or {}).get("version") or "-",
        _moment((insight.get("mTLS") or {}).get("certificateExpirationTime")),
    ]


def _moment(timestamp: str | None) -> str:
    """An RFC 3339 UTC timestamp as "2026-12-01 14:30:00"."""
    if not timestamp:
        return "-"
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def dataplane_status(subscription: Json, inbounds: list[Json]) -> str:
    """Kuma's rule: a connected proxy is Online if every inbound is ready, Offline if none is."""
    if not subscription.get("connectTime") or subscription.get("disconnectTime"):
        return "Offline"
    ready = [_ready(inbound) for inbound in inbounds]
    if all(ready):
        return "Online"
    return "Partially degraded" if any(ready) else "Offline"


def _ready(inbound: Json) -> bool:
    return (inbound.get("health") or {}).get("ready", True) is not False and inbound.get(
        "state", "Ready"
    ) == "Ready"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in counts.items()) or "-"
