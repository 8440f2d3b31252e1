"""SDS secrets: the proxy's workload certificate and its mesh's CA, delivered over ADS."""

from __future__ import annotations

from envoy.config.core.v3.base_pb2 import DataSource
from envoy.extensions.transport_sockets.tls.v3.common_pb2 import (
    CertificateValidationContext,
    TlsCertificate,
)
from envoy.extensions.transport_sockets.tls.v3.secret_pb2 import Secret

from meshfabric.ca.identities import Identity
from meshfabric.xds.envoy import names
from meshfabric.xds.envoy.resource import XdsResource
from meshfabric.xds.envoy.resource_set import ResourceSet
from meshfabric.xds.model.context import MeshContext
from meshfabric.xds.model.proxy_context import ProxyContext


def generate(ctx: ProxyContext, resources: ResourceSet) -> None:
    if ctx.identity is not None:
        add(ctx.mesh, ctx.identity, resources)


def add(mesh: MeshContext, identity: Identity, resources: ResourceSet) -> None:
    """A proxy's own certificate, and its mesh's CA (shared)."""
    certificate = identity.certificate
    identity_name = names.identity_secret(identity.mesh)
    resources.add(
        identity_name,
        Secret(
            name=identity_name,
            tls_certificate=TlsCertificate(
                certificate_chain=DataSource(inline_bytes=certificate.cert_pem),
                private_key=DataSource(inline_bytes=certificate.key_pem),
            ),
        ),
    )
    resources.add_shared(
        mesh.derived(("ca_secret", identity.mesh, identity.ca_pem), lambda: _ca(identity))
    )


def _ca(identity: Identity) -> XdsResource:
    """The mesh's CA: the same for every proxy of the mesh, so encoded once and shared."""
    name = names.ca_secret(identity.mesh)
    validation = CertificateValidationContext(trusted_ca=DataSource(inline_bytes=identity.ca_pem))
    return XdsResource.encode(name, Secret(name=name, validation_context=validation))
