"""The control planes of the KDS tests (real processes, loopback), and the Kong Air lab."""

from tests.integration.kds.conftest import federation
from tests.integration.multizone.kong_air_lab import lab

__all__ = ["federation", "lab"]
