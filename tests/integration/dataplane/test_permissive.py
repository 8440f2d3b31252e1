"""PERMISSIVE mTLS lets plaintext callers in beside mesh ones; STRICT turns them away."""

from __future__ import annotations

import pytest

from tests.integration.dataplane.conftest import PairFactory
from tests.integration.dataplane.support import (
    HttpApp,
    ZoneControlPlane,
    mtls_mesh,
    permission,
    status_of,
)
from tests.support.net import wait_until

pytestmark = pytest.mark.envoy


def test_a_plaintext_caller_is_accepted_in_permissive_mode_and_refused_in_strict(
    control_plane: ZoneControlPlane, pair: PairFactory
) -> None:
    control_plane.apply(mtls_mesh("default", mode="PERMISSIVE"))
    control_plane.apply(permission("default", "web-to-backend", "backend", "web"))
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http", "backend", "web")
        inbound = services.server.dataplane["networking"]["inbound"][0]["port"]
        plaintext = f"http://127.0.0.1:{inbound}/"
        wait_until(lambda: status_of(services.url) == 200, 10, "the mesh caller to get through")
        assert status_of(plaintext) == 200

        control_plane.apply(mtls_mesh("default", mode="STRICT"))
        wait_until(lambda: status_of(plaintext) == 0, 10, "plaintext to be refused")
        assert status_of(services.url) == 200
