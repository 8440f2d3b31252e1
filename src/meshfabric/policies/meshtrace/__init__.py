"""MeshTrace: where the selected proxies send trace spans, how many, and with which tags.

The plugin turns on Envoy tracing in the HTTP connection managers of the proxies selected.
"""
