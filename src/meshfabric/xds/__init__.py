"""The xDS side of the zone control plane, in layers that import only downward.

- `envoy`: Envoy vocabulary: type URLs, resource names, builders, encoded resources.
- `model`: what generators and policies read: the mesh context, proxies, destinations.
- `cache`: immutable per-proxy snapshots and the streams waiting on them.
- `generate`: the sidecar profile: generators, then the policy plugins.
- `server`: the ADS server (state of the world and delta) over the cache.
- `reconcile`: store changes to regenerated snapshots.
- `admission`: who may connect, register and stream, and what their proxies report.
- `component`, `inspect`: the wiring of all of it, and the read-only view the API serves.
"""
