"""Helpers the test suites share: real PostgreSQL servers and real control-plane processes."""
