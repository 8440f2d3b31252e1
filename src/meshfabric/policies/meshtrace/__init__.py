"""MeshTrace: where the selected proxies send trace spans, how many, and with which tags.

No Envoy plugin yet: its policies are stored, validated and synced, but shape no proxy.
"""
