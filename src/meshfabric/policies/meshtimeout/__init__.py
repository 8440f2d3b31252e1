"""MeshTimeout: connection, idle and HTTP timeouts on the proxy's inbounds and outbounds."""
