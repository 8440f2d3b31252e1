"""The mesh the xDS benchmarks load: services with one dataplane each, and client proxies
that each reach a few of them. Only `Resource` from meshfabric, so a benchmark built on it
runs against older trees too (PYTHONPATH pointing at another worktree's src)."""

from __future__ import annotations

from meshfabric.resources import Resource

MESH = "default"
OUTBOUND_BASE_PORT = 10000


def proxy_address(index: int) -> str:
    """A loopback address per proxy, so every Envoy can bind the same outbound ports."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


def service_dataplane(index: int, port: int = 8080) -> Resource:
    inbound = {
        "port": port,
        "tags": {"kuma.io/service": f"svc-{index}", "kuma.io/protocol": "http"},
    }
    spec = {
        "networking": {"address": f"127.2.{index // 250}.{index % 250 + 1}", "inbound": [inbound]}
    }
    return Resource("Dataplane", MESH, f"svc-{index}-1", spec)


def client_dataplane(index: int, outbounds: int) -> Resource:
    spec = {
        "networking": {
            "address": proxy_address(index),
            "inbound": [
                {"port": 20000, "servicePort": 20001, "tags": {"kuma.io/service": "client"}}
            ],
            "outbound": [
                {"port": OUTBOUND_BASE_PORT + k, "tags": {"kuma.io/service": f"svc-{k}"}}
                for k in range(outbounds)
            ],
        }
    }
    return Resource("Dataplane", MESH, f"client-{index}", spec)
