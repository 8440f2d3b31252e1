"""The mesh as generators and policies see it: the mesh context, proxies, destinations."""
