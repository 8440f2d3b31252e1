"""The registration call on the xDS port, as registration.proto declares it.

The messages are generated from that file (`make proto`); the Dataplane travels in them as
JSON, so the proxy side needs nothing but grpcio and protobuf.
"""

from __future__ import annotations

from meshfabric.dataplane_api import registration_pb2

SERVICE = registration_pb2.DESCRIPTOR.services_by_name["Registration"].full_name
REGISTER_METHOD = f"/{SERVICE}/Register"
DEREGISTER_METHOD = f"/{SERVICE}/Deregister"
