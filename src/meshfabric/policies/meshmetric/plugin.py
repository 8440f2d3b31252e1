"""Translate MeshMetric: each Prometheus backend becomes a listener on the proxy's address and
the backend's port. GETs of the backend's path go to meshfabric-dp's metrics server (a Unix
socket its node metadata names), with the policy's `sidecar` settings in a request header:
it answers with Envoy's stats as Kuma's profiles and rules keep them (meshfabric.dp.metrics).
GETs of `<path>/applications/<name>` go to each application's own metrics endpoint (kuma-dp
merges those into one scrape; here each is a target of its own in the discovery endpoint).
Changing the policy changes the header, so nothing but the listener is ever updated.

OpenTelemetry backends become one listener on the Unix socket meshfabric-dp named for pushes
(its node metadata): each GET there is answered, by Envoy itself, with what to push where
(JSON: the `sidecar` settings, the resource attributes, the applications, each backend's
endpoint and refresh interval). meshfabric-dp asks it every few seconds and pushes Envoy's
stats so filtered, and the applications' own metrics, as OTLP metrics; with the policy
gone nothing answers, and it stops pushing.
"""

from __future__ import annotations

import json
from typing import Any

from envoy.config.core.v3.base_pb2 import DataSource, HeaderValue, HeaderValueOption
from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.config.route.v3.route_components_pb2 import (
    DirectResponseAction,
    HeaderMatcher,
    Route,
    RouteAction,
    RouteMatch,
    VirtualHost,
)
from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.type.matcher.v3.string_pb2 import StringMatcher

from meshfabric.dataplane_api.node import METRICS_CLUSTER, METRICS_CONF_HEADER
from meshfabric.policies.core import identifying_service, proxy_conf
from meshfabric.policies.meshmetric.api import (
    TYPE,
    Application,
    Conf,
    OpenTelemetry,
    Prometheus,
    Spec,
    application_address,
    application_name,
    application_path,
    open_telemetry_backends,
    prometheus_backends,
)
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

POLICY_TYPE = TYPE.name


class MeshMetricPlugin:
    policy_type = POLICY_TYPE
    order = 700

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        policies = ctx.mesh.policies_of(POLICY_TYPE, Spec)
        if not policies or ctx.outbounds:  # the proxy's own listener, not a shared outbound's
            return
        matched = proxy_conf(policies, ctx.proxy)
        ctx.record_match(POLICY_TYPE, list(matched.policies))
        socket = ctx.features.metrics_socket
        if matched.conf is None or not socket:  # no metrics server beside this Envoy
            return
        conf = matched.conf
        resources.add(METRICS_CLUSTER, envoy.pipe_cluster(METRICS_CLUSTER, socket))
        for application in conf.applications or []:
            name = application_cluster(application)
            address = application_address(application)
            resources.add(name, envoy.static_cluster(name, address, application.port))
        for prometheus in prometheus_backends(conf):
            name = listener_name(prometheus.port)
            resources.add(name, metrics_listener(name, ctx.proxy.address, prometheus, conf))
        pushes = open_telemetry_backends(conf)
        if pushes and ctx.features.metrics_push_socket:
            push_conf = json.dumps(push_settings(ctx, conf, pushes), sort_keys=True)
            listener = push_listener(ctx.features.metrics_push_socket, push_conf)
            resources.add(PUSH_LISTENER, listener)


PUSH_LISTENER = "metrics:opentelemetry"


def listener_name(port: int) -> str:
    return f"metrics:prometheus:{port}"


def application_cluster(application: Application) -> str:
    return f"metrics:application:{application_address(application)}:{application.port}"


def metrics_listener(name: str, address: str, prometheus: Prometheus, conf: Conf) -> Listener:
    sidecar = conf.sidecar.model_dump(exclude_none=True) if conf.sidecar else {}
    stats = _get(prometheus.path, METRICS_CLUSTER, "/")
    stats.request_headers_to_add.append(
        HeaderValueOption(
            header=HeaderValue(key=METRICS_CONF_HEADER, value=json.dumps(sidecar, sort_keys=True)),
            append_action=HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
        )
    )
    routes = [stats]
    routes += [
        _get(application_path(prometheus.path, app), application_cluster(app), app.path)
        for app in conf.applications or []
    ]
    config = RouteConfiguration(
        name=name, virtual_hosts=[VirtualHost(name=name, domains=["*"], routes=routes)]
    )
    hcm = envoy.http_connection_manager(envoy.stat_prefix(name), route_config=config)
    return envoy.single_filter_listener(name, address, prometheus.port, envoy.HCM_FILTER, hcm)


def push_settings(ctx: ProxyContext, conf: Conf, pushes: list[OpenTelemetry]) -> dict[str, Any]:
    """What meshfabric-dp pushes where (meshfabric.dp.metrics_push reads it)."""
    resource = {
        "mesh": ctx.proxy.mesh,
        "zone": ctx.mesh.zone,
        "service": identifying_service(ctx.proxy),
        "dataplane": ctx.proxy.name,
    }
    backends = [
        {"endpoint": otel.endpoint, "refreshSeconds": otel.refresh_seconds} for otel in pushes
    ]
    applications = [
        {
            "name": application_name(app),
            "address": application_address(app),
            "port": app.port,
            "path": app.path,
        }
        for app in conf.applications or []
    ]
    sidecar = conf.sidecar.model_dump(exclude_none=True) if conf.sidecar else {}
    return {
        "sidecar": sidecar,
        "resource": resource,
        "applications": applications,
        "backends": backends,
    }


def push_listener(socket: str, push_conf: str) -> Listener:
    """A listener on `socket` that answers every request with `push_conf`."""
    answer = Route(
        match=RouteMatch(prefix="/"),
        direct_response=DirectResponseAction(status=200, body=DataSource(inline_string=push_conf)),
    )
    config = RouteConfiguration(
        name=PUSH_LISTENER,
        virtual_hosts=[VirtualHost(name=PUSH_LISTENER, domains=["*"], routes=[answer])],
    )
    hcm = envoy.http_connection_manager(envoy.stat_prefix(PUSH_LISTENER), route_config=config)
    listener = envoy.single_filter_listener(PUSH_LISTENER, "127.0.0.1", 0, envoy.HCM_FILTER, hcm)
    listener.address.Clear()
    listener.address.pipe.path = socket
    return listener


def _get(path: str, cluster: str, rewritten: str) -> Route:
    """GETs of exactly `path`, to `cluster` as `rewritten`."""
    only_get = HeaderMatcher(name=":method", string_match=StringMatcher(exact="GET"))
    return Route(
        match=RouteMatch(path=path, headers=[only_get]),
        route=RouteAction(cluster=cluster, prefix_rewrite=rewritten),
    )


PLUGIN = MeshMetricPlugin()
