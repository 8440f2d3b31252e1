"""Names of generated Envoy resources, the way Kuma names them (inspection and tests rely on
them, and policies find what they modify by them)."""

from __future__ import annotations


def inbound_listener(address: str, port: int) -> str:
    return f"inbound:{address}:{port}"


def inbound_route(address: str, port: int) -> str:
    return f"inbound:{address}:{port}"


def outbound_listener(address: str, port: int) -> str:
    return f"outbound:{address}:{port}"


def local_cluster(port: int) -> str:
    """The cluster that reaches the application next to the proxy."""
    return f"localhost:{port}"


def service_cluster(service: str) -> str:
    return service


def mesh_service_cluster(name: str, port: int) -> str:
    """One port of a MeshService (Kuma adds mesh, namespace and zone; one zone, one mesh here)."""
    return f"{name}_msvc_{port}"


def multizone_service_cluster(name: str, port: int) -> str:
    """One port of a MeshMultiZoneService."""
    return f"{name}_mzsvc_{port}"


def outbound_route(cluster: str) -> str:
    return f"outbound:{cluster}"


def dns_listener() -> str:
    return "dns:udp"


def identity_secret(mesh: str) -> str:
    return f"identity_cert:secret:{mesh}"


def ca_secret(mesh: str) -> str:
    return f"mesh_ca:secret:{mesh}"


def sni(service: str, mesh: str) -> str:
    return f"{service}{{mesh={mesh}}}"


def ingress_listener(address: str, port: int) -> str:
    return f"ingress:{address}:{port}"


def ingress_cluster(service: str) -> str:
    """The local instances of a service, as a zone's ingress reaches them."""
    return f"ingress:{service}"


def egress_listener(address: str, port: int) -> str:
    return f"egress:{address}:{port}"


def egress_cluster(service: str) -> str:
    """The other zones' ingresses that serve a service, as a zone's egress reaches them."""
    return f"egress:{service}"


def external_service_cluster(name: str) -> str:
    """A MeshExternalService, as a sidecar reaches it."""
    return f"{name}_mextsvc"


def egress_external_cluster(name: str) -> str:
    """A MeshExternalService's own endpoints, as a zone's egress reaches them."""
    return f"egress:extsvc:{name}"
