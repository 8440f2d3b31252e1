"""MeshAccessLog: which requests the selected proxies log, in which format, to which backend.

No Envoy plugin yet: its policies are stored, validated and synced, but shape no proxy.
"""
