"""Random and invalid requests from the served OpenAPI document (schemathesis + hypothesis).

Whatever arrives, the control plane answers without a 5xx, and every 4xx is in the
documented error format.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation

from tests.support.control_plane import ControlPlane


@pytest.fixture(scope="module")
def fuzzed_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    cp = ControlPlane(Path(tmp_path_factory.mktemp("fuzz"))).start()
    with cp.client() as client:
        client.put("/meshes/default", json={"type": "Mesh", "name": "default"}).raise_for_status()
    yield cp
    cp.stop()


@pytest.fixture(scope="module")
def operations(fuzzed_control_plane: ControlPlane) -> list[APIOperation]:
    document = httpx.get(fuzzed_control_plane.url + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def check_answer(cp: ControlPlane, case: schemathesis.Case) -> None:
    response = case.call(base_url=cp.url, headers={"Authorization": f"Bearer {cp.token}"})
    where = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.300}"
    assert response.status_code < 500, f"{where}: {response.text}"
    if response.status_code >= 400:
        body = response.json()
        assert body["type"] == "/std-errors" and body["status"] == response.status_code, where
        assert {"title", "detail"} <= body.keys(), where
        for parameter in body.get("invalid_parameters", []):
            assert parameter.keys() == {"field", "reason"} and parameter["reason"], where


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_every_error_in_format(
    operations: list[APIOperation], fuzzed_control_plane: ControlPlane, mode: GenerationMode
) -> None:
    assert len(operations) > 100, "every type's operations are in the document"
    exercised = set()
    for operation in operations:

        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers_well(case: schemathesis.Case) -> None:
            check_answer(fuzzed_control_plane, case)

        try:
            answers_well()
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid (GET / has no input)
        exercised.add(operation.label)
    with_body = {operation.label for operation in operations if operation.body}
    assert with_body <= exercised, "every operation that takes a body was fuzzed"
