"""The mesh's dashboards, written once as data: each a title, its variables and its panels'
PromQL. Grafana's JSON (`grafana_json`) and the Prometheus console page
(`meshfabric.telemetry.console`) are both rendered from these, so they show the same figures.

Queries select with `=~"$variable"`: Grafana's "All" is `.*`, which the console page uses
for every variable. Proxies' series carry the `mesh`, `zone`, `service` and `dataplane`
labels the discovery endpoint gives them; the control planes' carry `zone` (their own, or
the stream's for KDS). A labelled counter has no series before its first increment, so
panels of such counters fall back to zero (`or ... * 0`) rather than showing nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as grafana
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

RATE_INTERVAL = "$__rate_interval"  # Grafana's; the console page uses CONSOLE_RATE_INTERVAL
CONSOLE_RATE_INTERVAL = "5m"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

# Inbound traffic, as the proxy hands it to its application: the `localhost:<port>` cluster
# (the HTTP connection managers' stat prefixes hold the listener's address, whose dots Envoy
# folds into the metric's name, so their families cannot be summed across proxies).
_INBOUND = 'envoy_cluster_name=~"localhost_.*"'


@dataclass(frozen=True)
class Variable:
    """A dashboard variable: the values of `label` among the series of `metric`."""

    label: str
    metric: str


@dataclass(frozen=True)
class Panel:
    title: str
    expr: str  # PromQL, with $variables and RATE_INTERVAL
    unit: str  # Grafana's unit id: reqps, s, percentunit, short
    legend: str = ""  # Grafana's legend format, e.g. "{{zone}}"
    single: bool = False  # one number (a stat panel) rather than series over time


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    variables: tuple[Variable, ...]
    panels: tuple[Panel, ...]


def _rate(metric: str, selector: str) -> str:
    return f"rate({metric}{{{selector}}}[{RATE_INTERVAL}])"


def _quantile(quantile: float, metric: str, selector: str, by: str) -> str:
    rate = _rate(f"{metric}_bucket", selector)
    return f"histogram_quantile({quantile}, sum by ({by}, le) ({rate}))"


def _error_ratio(selector: str, by: str) -> str:
    """5xx answers over all answers, 0 while there were none."""
    errors = _rate("envoy_cluster_upstream_rq_xx", f'{selector},envoy_response_code_class="5"')
    every = f"sum by ({by}) ({_rate('envoy_cluster_upstream_rq_total', selector)})"
    return f"sum by ({by}) ({errors}) / {every} or {every} * 0"


def _proxy_panels(selector: str, by: str) -> tuple[Panel, ...]:
    """The golden signals of the proxies `selector` picks, inbound requests, per `by` label."""
    inbound = f"{selector},{_INBOUND}"
    legend = f"{{{{{by}}}}}"
    requests = _rate("envoy_cluster_upstream_rq_total", inbound)
    return (
        Panel("Proxies online", f"sum by ({by}) (envoy_server_live{{{selector}}})", "short",
              legend, single=True),
        Panel("Inbound requests per second", f"sum by ({by}) ({requests})", "reqps", legend),
        Panel("Inbound 5xx ratio", _error_ratio(inbound, by), "percentunit", legend),
        Panel("Inbound latency p50",
              _quantile(0.5, "envoy_cluster_upstream_rq_time", inbound, by), "ms", legend),
        Panel("Inbound latency p99",
              _quantile(0.99, "envoy_cluster_upstream_rq_time", inbound, by), "ms", legend),
    )  # fmt: skip


def _control_plane_panels() -> tuple[Panel, ...]:
    zone = 'zone=~"$zone"'
    rejected = _rate("meshfabric_xds_rejected_responses_total", zone)
    connected = f"sum by (zone) (meshfabric_xds_connected_proxies{{{zone}}})"
    return (
        Panel("Connected proxies", connected, "short", "{{zone}}", single=True),
        Panel("Leading replicas", f"sum by (zone) (meshfabric_leader{{{zone}}})", "short",
              "{{zone}}", single=True),
        Panel("xDS generation p99",
              _quantile(0.99, "meshfabric_xds_generation_duration_seconds", zone, "zone"), "s",
              "{{zone}}"),
        Panel("xDS delivery p99 (change to ACK)",
              _quantile(0.99, "meshfabric_xds_delivery_duration_seconds", zone, "zone"), "s",
              "{{zone}}"),
        Panel("xDS responses rejected per second",
              f"sum by (zone) ({rejected}) or {connected} * 0", "short", "{{zone}}"),
        Panel("KDS lag p99 (change to peer's ACK)",
              _quantile(0.99, "meshfabric_kds_sync_duration_seconds", zone, "zone"), "s",
              "{{zone}}"),
        Panel("KDS open streams",
              f"sum by (zone, stream) (meshfabric_kds_open_streams{{{zone}}})", "short",
              "{{zone}} {{stream}}"),
        Panel("Store operation p99",
              _quantile(0.99, "meshfabric_store_operation_duration_seconds", zone,
                        "zone, operation"), "s", "{{zone}} {{operation}}"),
        Panel("API requests per second",
              f"sum by (zone, status) "
              f"({_rate('meshfabric_api_request_duration_seconds_count', zone)})", "reqps",
              "{{zone}} {{status}}"),
    )  # fmt: skip


_ZONE = Variable("zone", "envoy_server_live")
_SERVICE = Variable("service", "envoy_server_live")
_UPSTREAM = 'service=~"$service",zone=~"$zone"'

DASHBOARDS = (
    Dashboard(
        "meshfabric-mesh", "meshfabric / Mesh",
        "Every zone's proxies at once, side by side.",
        (Variable("mesh", "envoy_server_live"),), _proxy_panels('mesh=~"$mesh"', "zone"),
    ),
    Dashboard(
        "meshfabric-zone", "meshfabric / Zone",
        "One zone's proxies, per service.",
        (_ZONE,), _proxy_panels('zone=~"$zone"', "service"),
    ),
    Dashboard(
        "meshfabric-service", "meshfabric / Service",
        "One service's proxies, per zone, and where they send requests.",
        (_SERVICE, _ZONE),
        (
            *_proxy_panels('service=~"$service",zone=~"$zone"', "zone"),
            Panel("Upstream requests per second by cluster",
                  f"sum by (envoy_cluster_name) "
                  f"({_rate('envoy_cluster_upstream_rq_total', _UPSTREAM)})",
                  "reqps", "{{envoy_cluster_name}}"),
            Panel("Active upstream connections by cluster",
                  f"sum by (envoy_cluster_name) (envoy_cluster_upstream_cx_active{{{_UPSTREAM}}})",
                  "short", "{{envoy_cluster_name}}"),
        ),
    ),
    Dashboard(
        "meshfabric-control-plane", "meshfabric / Control plane",
        "The control planes' own metrics: xDS generation and delivery, KDS lag, store, API.",
        (Variable("zone", "meshfabric_leader"),), _control_plane_panels(),
    ),
)  # fmt: skip


def resolved(expr: str, values: dict[str, str], rate_interval: str) -> str:
    """`expr` with its variables replaced, as Grafana sends it to Prometheus."""
    expr = expr.replace(RATE_INTERVAL, rate_interval)
    for name, value in values.items():
        expr = expr.replace(f"${name}", value)
    return expr


def grafana_json(board: Dashboard) -> str:
    """The dashboard as Grafana imports it (a data source variable picks the Prometheus)."""
    builder = (
        grafana.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["meshfabric"])
        .refresh("30s")
        .time("now-1h", "now")
        .with_variable(grafana.DatasourceVariable("datasource").type("prometheus"))
    )
    for variable in board.variables:
        builder = builder.with_variable(
            grafana.QueryVariable(variable.label)
            .datasource(DATASOURCE)
            .query(f"label_values({variable.metric}, {variable.label})")
            .include_all(True)
            .all_value(".*")
        )
    for panel in board.panels:
        builder = builder.with_panel(_panel(panel))
    document: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _panel(panel: Panel) -> stat.Panel | timeseries.Panel:
    query = prometheus.Dataquery().expr(panel.expr).legend_format(panel.legend).ref_id("A")
    built = stat.Panel() if panel.single else timeseries.Panel()
    return built.title(panel.title).unit(panel.unit).datasource(DATASOURCE).with_target(query)
