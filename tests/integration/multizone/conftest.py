"""The global and zone control planes of the KDS tests (real processes, loopback)."""

from tests.integration.kds.conftest import federation

__all__ = ["federation"]
