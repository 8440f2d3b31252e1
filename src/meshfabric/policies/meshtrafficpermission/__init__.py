"""MeshTrafficPermission: which services may call an inbound, enforced by Envoy's RBAC."""
