"""The registration call on the xDS port: meshfabric-dp registers its Dataplane before
starting Envoy and deregisters it on shutdown, authenticated by its dataplane token.

The calls are unary gRPC with JSON bodies, so the proxy side needs nothing but grpcio:
Register {"dataplane": {<Dataplane as in YAML>}, "proxyType": "dataplane"} -> {"version": n}
Deregister {"mesh": m, "name": n} -> {}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SERVICE = "meshfabric.dataplane.v1.Registration"
REGISTER_METHOD = f"/{SERVICE}/Register"
DEREGISTER_METHOD = f"/{SERVICE}/Deregister"

Body = dict[str, Any]


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body).encode()


def decode(data: bytes) -> Body:
    body = json.loads(data or b"{}")
    if not isinstance(body, dict):
        raise ValueError("the request must be a JSON object")
    return body
