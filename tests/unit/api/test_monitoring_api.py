"""The discovery endpoints with a read-only token: Prometheus' HTTP SD, and Kuma's MADS over
HTTP answered to the very request Prometheus' kuma_sd sends (discovery/xds/client.go)."""

from __future__ import annotations

import httpx

from meshfabric.insights.monitoring import MADS_TYPE_URL

DATAPLANE = {
    "type": "Dataplane",
    "mesh": "default",
    "name": "web-1",
    "networking": {
        "address": "10.0.0.1",
        "inbound": [{"port": 8080, "tags": {"kuma.io/service": "web"}}],
    },
}
MESHMETRIC = {
    "type": "MeshMetric",
    "mesh": "default",
    "name": "prometheus",
    "spec": {"default": {"backends": [{"type": "Prometheus", "prometheus": {"port": 5670}}]}},
}
# What Prometheus' kuma_sd posts (protojson of a DiscoveryRequest), first and later.
FETCH = {"typeUrl": MADS_TYPE_URL, "resourceNames": [], "node": {"id": "prometheus"}}
MADS = "/v3/discovery:monitoringassignments?fetch-timeout=2m0s"


async def reader_of_a_mesh_with_metrics(api: httpx.AsyncClient) -> httpx.AsyncClient:
    (await api.put("/meshes/default", json={"type": "Mesh", "name": "default"})).raise_for_status()
    (await api.put("/meshes/default/dataplanes/web-1", json=DATAPLANE)).raise_for_status()
    put = await api.put("/meshes/default/meshmetrics/prometheus", json=MESHMETRIC)
    put.raise_for_status()
    token = (await api.post("/tokens/user", json={"name": "prometheus"})).text
    api.headers["Authorization"] = f"Bearer {token}"
    return api


async def test_http_sd_lists_the_proxy_for_a_read_only_token(api: httpx.AsyncClient) -> None:
    reader = await reader_of_a_mesh_with_metrics(api)
    groups = (await reader.get("/meshes/_all/monitoring-assignments")).json()
    assert groups == [
        {
            "targets": ["10.0.0.1:5670"],
            "labels": {
                "mesh": "default",
                "zone": "default",
                "service": "web",
                "dataplane": "web-1",
                "__metrics_path__": "/metrics",
            },
        }
    ]
    assert (await reader.get("/meshes/other/monitoring-assignments")).json() == []


async def test_mads_answers_kuma_sd_then_304_while_nothing_changed(api: httpx.AsyncClient) -> None:
    reader = await reader_of_a_mesh_with_metrics(api)
    first = await reader.post(MADS, json={**FETCH, "versionInfo": "", "responseNonce": ""})
    assert first.status_code == 200
    answer = first.json()
    assert answer["typeUrl"] == MADS_TYPE_URL
    [assignment] = answer["resources"]
    assert assignment["@type"] == MADS_TYPE_URL
    assert (assignment["mesh"], assignment["service"]) == ("default", "web")
    [target] = assignment["targets"]
    assert target["address"] == "10.0.0.1:5670"
    assert (target["name"], target["scheme"], target["metricsPath"]) == (
        "web-1",
        "http",
        "/metrics",
    )
    assert target["labels"]["zone"] == "default"

    again = {**FETCH, "versionInfo": answer["versionInfo"], "responseNonce": answer["nonce"]}
    assert (await reader.post(MADS, json=again)).status_code == 304


async def test_mads_needs_a_token(api: httpx.AsyncClient) -> None:
    del api.headers["Authorization"]
    assert (await api.post(MADS, json=FETCH)).status_code == 401
