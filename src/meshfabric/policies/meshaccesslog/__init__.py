"""MeshAccessLog: which requests the selected proxies log, in which format, to which backend.

The plugin adds Envoy access loggers to the inbounds and outbounds the policies select.
"""
