"""Envoy vocabulary shared by every layer: type URLs, names, builders, encoded resources."""
