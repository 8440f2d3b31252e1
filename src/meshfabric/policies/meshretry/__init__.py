"""MeshRetry: retry failed requests and connection attempts to a destination."""
