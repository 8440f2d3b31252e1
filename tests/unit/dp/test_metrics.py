"""meshfabric-dp's metrics filter: Kuma's profiles, include and exclude rules on Prometheus
family names, and Basic's removal of the proxy's own clusters."""

from __future__ import annotations

from typing import Any

from meshfabric.dp.metrics import basic_only, family_filter, filtered

EXPOSITION = """\
# TYPE envoy_cluster_upstream_rq_total counter
envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 7
envoy_cluster_upstream_rq_total{envoy_cluster_name="ads_cluster"} 3
# TYPE envoy_cluster_upstream_cx_tx_bytes_total counter
envoy_cluster_upstream_cx_tx_bytes_total{envoy_cluster_name="ads_cluster"} 100
# TYPE envoy_runtime_load_success counter
envoy_runtime_load_success{} 1
# TYPE envoy_server_live gauge
envoy_server_live{} 1
# TYPE envoy_http_downstream_rq_time histogram
envoy_http_downstream_rq_time_bucket{le="0.5"} 1
envoy_http_downstream_rq_time_sum{} 0.2
envoy_http_downstream_rq_time_count{} 1
"""


def kept(sidecar: dict[str, Any]) -> list[str]:
    hidden = ("ads_cluster",) if basic_only(sidecar) else ()
    text = filtered(EXPOSITION, family_filter(sidecar), hidden)
    return [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]


def profiles(*names: str, **rules: list[dict[str, str]]) -> dict[str, Any]:
    return {"profiles": {"appendProfiles": [{"name": name} for name in names], **rules}}


def test_basic_is_the_default_and_leaves_out_the_proxys_own_clusters() -> None:
    assert kept({}) == [
        "envoy_cluster_upstream_rq_total",
        "envoy_server_live",
        "envoy_http_downstream_rq_time",
    ]
    text = filtered(EXPOSITION, family_filter({}), ("ads_cluster",))
    assert "ads_cluster" not in text
    assert "envoy_http_downstream_rq_time_count{} 1" in text  # a histogram's lines stay whole


def test_all_keeps_every_family_and_the_own_clusters() -> None:
    assert len(kept(profiles("All"))) == 5
    assert "ads_cluster" in filtered(EXPOSITION, family_filter(profiles("All")))


def test_none_keeps_only_what_include_rules_add() -> None:
    assert kept(profiles("None")) == []
    rule = [{"type": "Exact", "match": "envoy_runtime_load_success"}]
    assert kept(profiles("None", include=rule)) == ["envoy_runtime_load_success"]


def test_exclude_takes_away_and_include_wins_over_exclude() -> None:
    exclude = [{"type": "Regex", "match": "^envoy_(server|http)_"}]
    assert kept(profiles("All", exclude=exclude)) == [
        "envoy_cluster_upstream_rq_total",
        "envoy_cluster_upstream_cx_tx_bytes_total",
        "envoy_runtime_load_success",
    ]
    include = [{"type": "Contains", "match": "live"}]
    assert "envoy_server_live" in kept(profiles("All", exclude=exclude, include=include))


def test_the_broadest_profile_named_decides() -> None:
    assert len(kept(profiles("None", "All"))) == 5
    assert kept(profiles("None", "Basic")) == kept({})
