"""MeshMetric: which proxy and application metrics are collected, and where they go.

The plugin opens each Prometheus backend's port on the proxy, in front of meshfabric-dp's
metrics server (meshfabric.dp.metrics); the control planes list those endpoints for
Prometheus (meshfabric.insights.monitoring).
"""
