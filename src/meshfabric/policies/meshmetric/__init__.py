"""MeshMetric: which proxy and application metrics are collected, and where they go.

No Envoy plugin yet: its policies are stored, validated and synced, but shape no proxy.
"""
