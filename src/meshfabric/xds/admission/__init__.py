"""Proxy admission: tokens, registration, and what connected proxies report."""
