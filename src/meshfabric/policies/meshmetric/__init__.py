"""MeshMetric: which proxy and application metrics are collected, and where they go.

The plugin serves each Prometheus backend's port and path from the proxy's Envoy; the
control planes list those endpoints for Prometheus (meshfabric.insights.monitoring).
"""
