"""Put an RBAC filter in front of each mTLS-protected inbound.

HTTP inbounds get the HTTP RBAC filter (a denied request gets 403): in the listener it
denies everything, and the inbound's route configuration overrides it with the real rules,
so a permission change reaches open connections at once (rules that admit the whole mesh
are left to the mTLS handshake, which admits exactly that). TCP inbounds get the network RBAC
filter (a denied connection is closed), which applies to connections opened after a change.
Callers are told apart by the SPIFFE ID in their certificate; plaintext chains of PERMISSIVE
inbounds carry no identity and are left open, as in Kuma.
"""

from __future__ import annotations

from envoy.config.listener.v3.listener_pb2 import Listener
from envoy.config.rbac.v3.rbac_pb2 import RBAC, Permission, Policy, Principal
from envoy.config.route.v3.route_pb2 import RouteConfiguration
from envoy.extensions.filters.http.rbac.v3.rbac_pb2 import RBAC as HttpRbac
from envoy.extensions.filters.http.rbac.v3.rbac_pb2 import RBACPerRoute
from envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2 import (  # noqa: E501
    HttpConnectionManager,
)
from envoy.extensions.filters.network.rbac.v3.rbac_pb2 import RBAC as NetworkRbac
from envoy.type.matcher.v3.string_pb2 import StringMatcher

from meshfabric.ca import spiffe_id
from meshfabric.policies.meshtrafficpermission.api import Spec
from meshfabric.policies.meshtrafficpermission.rules import (
    POLICY_TYPE,
    Permissions,
    permissions_for,
)
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.envoy import names, types
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.proxy_context import ProxyContext

HTTP_RBAC_FILTER = "envoy.filters.http.rbac"


class MeshTrafficPermissionPlugin:
    policy_type = POLICY_TYPE
    order = 100

    def apply(self, resources: ResourceSet, ctx: ProxyContext) -> None:
        if not ctx.mtls_enabled:
            return  # without identities there is nobody to tell apart
        policies = ctx.mesh.policies_of(POLICY_TYPE, Spec)
        for inbound in ctx.proxy.inbounds:
            name = names.inbound_listener(inbound.address, inbound.port)
            listener = resources.get(types.LISTENER, name)
            if not isinstance(listener, Listener):
                continue
            permissions = permissions_for(ctx.proxy, inbound, policies)
            ctx.record_match(POLICY_TYPE, list(permissions.policies))
            rules = rbac_rules(ctx.mesh.name, permissions)
            _protect(listener, rules)
            route = resources.get(types.ROUTE, names.inbound_route(inbound.address, inbound.port))
            if isinstance(route, RouteConfiguration):
                per_route = envoy.pack(_route_rbac(permissions, rules))
                for virtual_host in route.virtual_hosts:
                    virtual_host.typed_per_filter_config[HTTP_RBAC_FILTER].CopyFrom(per_route)


def _route_rbac(permissions: Permissions, rules: RBAC) -> RBACPerRoute:
    """The inbound route's override of the listener's deny-all. Rules that admit every
    identity of the mesh and no fewer admit exactly whom the inbound's mTLS handshake
    already admits (a certificate of the mesh's CA, a SPIFFE ID of the mesh): checking them
    again on every request costs CPU for nothing, so the override then enforces nothing (an
    RBAC without rules). The filter stays, so a narrower permission still reaches open
    connections with the next route update."""
    if permissions.mesh_allowed and not permissions.denied_services:
        return RBACPerRoute(rbac=HttpRbac())
    return RBACPerRoute(rbac=HttpRbac(rules=rules))


def rbac_rules(mesh: str, permissions: Permissions) -> RBAC:
    principals = [_identity(mesh, service) for service in permissions.allowed_services]
    if permissions.mesh_allowed:
        in_mesh = Principal(
            authenticated=Principal.Authenticated(
                principal_name=StringMatcher(prefix=f"spiffe://{mesh}/")
            )
        )
        denied = [_identity(mesh, service) for service in permissions.denied_services]
        if denied:
            in_mesh = Principal(
                and_ids=Principal.Set(
                    ids=[in_mesh, Principal(not_id=Principal(or_ids=Principal.Set(ids=denied)))]
                )
            )
        principals.append(in_mesh)
    policies = {}
    if principals:
        policies[POLICY_TYPE] = Policy(permissions=[Permission(any=True)], principals=principals)
    # An ALLOW RBAC without policies denies everything.
    return RBAC(action=RBAC.ALLOW, policies=policies)


def _identity(mesh: str, service: str) -> Principal:
    return Principal(
        authenticated=Principal.Authenticated(
            principal_name=StringMatcher(exact=spiffe_id(mesh, service))
        )
    )


def _protect(listener: Listener, rules: RBAC) -> None:
    for chain in listener.filter_chains:
        if not chain.HasField("transport_socket"):
            continue  # plaintext (PERMISSIVE) chain
        terminal = chain.filters[-1]
        if terminal.name == envoy.HCM_FILTER:
            hcm = HttpConnectionManager()
            terminal.typed_config.Unpack(hcm)
            deny_all = HttpRbac(rules=RBAC(action=RBAC.ALLOW))  # the routes override it
            rbac = envoy.http_filter(HTTP_RBAC_FILTER, deny_all)
            hcm.http_filters.insert(len(hcm.http_filters) - 1, rbac)
            terminal.typed_config.Pack(hcm)
        else:
            network = NetworkRbac(rules=rules, stat_prefix=listener.stat_prefix + "_rbac")
            chain.filters.insert(
                len(chain.filters) - 1, envoy.network_filter("envoy.filters.network.rbac", network)
            )


PLUGIN = MeshTrafficPermissionPlugin()
