"""Translate MeshMetric: each Prometheus backend becomes a listener on the proxy's address and
the backend's port that answers GETs of the backend's path with Envoy's own
`/stats/prometheus`, filtered by the sidecar's profiles (see profiles.py), and GETs of
`<path>/applications/<name>` with each application's own metrics endpoint (Kuma's kuma-dp
merges those into one scrape; here each is a target of its own in the discovery endpoint).

Kuma serves that port from kuma-dp, which asks Envoy's admin; here Envoy serves it alone:
the listener routes that one path, rewritten, to the bootstrap's cluster for the admin
(`ADMIN_CLUSTER`), and routes nothing else there. Envoy's `usedonly` leaves out the stats
never touched unless `sidecar.includeUnused` is set.
"""

from __future__ import annotations

from urllib.parse import quote

from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.config.route.v3.route_components_pb2 import (
    HeaderMatcher,
    Route,
    RouteAction,
    RouteMatch,
    VirtualHost,
)
from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.type.matcher.v3.string_pb2 import StringMatcher

from meshfabric.dataplane_api.node import ADMIN_CLUSTER
from meshfabric.policies.core import proxy_conf
from meshfabric.policies.meshmetric.api import (
    TYPE,
    Application,
    Conf,
    Prometheus,
    Spec,
    application_path,
    prometheus_backends,
)
from meshfabric.policies.meshmetric.profiles import stats_filter
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
        if matched.conf is None:
            return
        conf = matched.conf
        for application in conf.applications or []:
            name = application_cluster(application)
            address = application.address or "127.0.0.1"
            resources.add(name, envoy.static_cluster(name, address, application.port))
        for prometheus in prometheus_backends(conf):
            name = listener_name(prometheus.port)
            resources.add(name, metrics_listener(name, ctx.proxy.address, prometheus, conf))


def listener_name(port: int) -> str:
    return f"metrics:prometheus:{port}"


def application_cluster(application: Application) -> str:
    return f"metrics:application:{application.address or '127.0.0.1'}:{application.port}"


def admin_path(conf: Conf) -> str:
    """The admin request the metrics path stands for."""
    query = []
    if not (conf.sidecar and conf.sidecar.includeUnused):
        query.append("usedonly")
    expression = stats_filter(conf.sidecar)
    if expression is not None:
        query.append("filter=" + quote(expression, safe=""))
    return "/stats/prometheus" + ("?" + "&".join(query) if query else "")


def metrics_listener(name: str, address: str, prometheus: Prometheus, conf: Conf) -> Listener:
    routes = [_get(prometheus.path, ADMIN_CLUSTER, admin_path(conf))]
    routes += [
        _get(application_path(prometheus.path, app), application_cluster(app), app.path)
        for app in conf.applications or []
    ]
    config = RouteConfiguration(
        name=name, virtual_hosts=[VirtualHost(name=name, domains=["*"], routes=routes)]
    )
    hcm = envoy.http_connection_manager(envoy.stat_prefix(name), route_config=config)
    return envoy.single_filter_listener(name, address, prometheus.port, envoy.HCM_FILTER, hcm)


def _get(path: str, cluster: str, rewritten: str) -> Route:
    """GETs of exactly `path`, to `cluster` as `rewritten`."""
    only_get = HeaderMatcher(name=":method", string_match=StringMatcher(exact="GET"))
    return Route(
        match=RouteMatch(path=path, headers=[only_get]),
        route=RouteAction(cluster=cluster, prefix_rewrite=rewritten),
    )


PLUGIN = MeshMetricPlugin()
