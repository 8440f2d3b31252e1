"""xDS resource type URLs and the order in which a push delivers them."""

from __future__ import annotations

_PREFIX = "type.googleapis.com/"

SECRET = _PREFIX + "envoy.extensions.transport_sockets.tls.v3.Secret"
CLUSTER = _PREFIX + "envoy.config.cluster.v3.Cluster"
ENDPOINT = _PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = _PREFIX + "envoy.config.listener.v3.Listener"
ROUTE = _PREFIX + "envoy.config.route.v3.RouteConfiguration"

# Secrets before the clusters and listeners that use them, clusters before their endpoints,
# listeners before their routes: Envoy never waits for something it was already promised.
PUSH_ORDER: tuple[str, ...] = (SECRET, CLUSTER, ENDPOINT, LISTENER, ROUTE)

# Envoy subscribes to every Cluster and Listener ("wildcard"); the other types only by name.
WILDCARD_TYPES = frozenset({CLUSTER, LISTENER})

SHORT_NAMES = {SECRET: "sds", CLUSTER: "cds", ENDPOINT: "eds", LISTENER: "lds", ROUTE: "rds"}
