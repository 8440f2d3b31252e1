"""The Kuma-compatible REST API: resources, tokens, system endpoints, auth, error format."""
