"""MeshHealthCheck: active health checks of a destination's endpoints."""
