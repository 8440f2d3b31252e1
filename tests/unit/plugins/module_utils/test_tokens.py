# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
from typing import Any

import pytest

from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshError
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import ResourceService
from ansible_collections.meshfabric.mesh.plugins.module_utils.tokens import (
    ZONE_REVOCATIONS,
    dataplane_revocations,
    revoke,
    token_id,
)
from ansible_collections.meshfabric.mesh.tests.unit.plugins.conftest import make_jwt


def stored_ids(fake_cp: Any, key: tuple[str, str | None, str]) -> str:
    return base64.b64decode(fake_cp.store[key][0]["data"]).decode()


def test_token_id_is_the_jti_claim() -> None:
    assert token_id(make_jwt({"jti": "abc", "zone": "z1"})) == "abc"


def test_a_token_that_is_not_a_jwt_is_refused() -> None:
    with pytest.raises(MeshError, match="jti"):
        token_id("not-a-token")


def test_revoking_creates_the_list_then_appends_once(fake_cp: Any) -> None:
    service = ResourceService(fake_cp)
    first = revoke(service, ZONE_REVOCATIONS, "a", check_mode=False)
    second = revoke(service, ZONE_REVOCATIONS, "b", check_mode=False)
    again = revoke(service, ZONE_REVOCATIONS, "b", check_mode=False)
    assert (first.action, second.action, again.action) == ("created", "updated", "unchanged")
    assert stored_ids(fake_cp, ("GlobalSecret", None, "zone-token-revocations")) == "a,b"


def test_dataplane_revocations_live_in_the_mesh(fake_cp: Any) -> None:
    fake_cp.seed({"type": "Mesh", "name": "air"})
    revoke(ResourceService(fake_cp), dataplane_revocations("air"), "x", check_mode=False)
    assert stored_ids(fake_cp, ("Secret", "air", "dataplane-token-revocations")) == "x"


def test_check_mode_revocation_writes_nothing(fake_cp: Any) -> None:
    change = revoke(ResourceService(fake_cp), ZONE_REVOCATIONS, "a", check_mode=True)
    assert change.changed
    assert fake_cp.writes == []
