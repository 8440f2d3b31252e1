"""Which zone versions may sync with which global version."""

from __future__ import annotations

import pytest

from meshfabric.kds.auth import ZoneRefused, check_version


@pytest.mark.parametrize(
    ("zone", "global_"), [("0.1.0", "0.1.7"), ("0.1.7", "0.1.0"), ("1.2.0", "1.9.3")]
)
def test_the_same_series_syncs(zone: str, global_: str) -> None:
    check_version("zone-a", zone, global_)


@pytest.mark.parametrize(
    ("zone", "global_", "series"),
    [("0.2.0", "0.1.0", "0.1.x"), ("2.0.0", "1.4.0", "1.x"), ("1.0.0", "0.9.0", "0.9.x")],
)
def test_another_series_is_refused_naming_both(zone: str, global_: str, series: str) -> None:
    with pytest.raises(ZoneRefused, match=f"runs meshfabric {zone}, global runs {global_}"):
        check_version("zone-a", zone, global_)
    with pytest.raises(ZoneRefused, match=f"the same {series} as global"):
        check_version("zone-a", zone, global_)


def test_a_zone_that_says_no_version_is_refused() -> None:
    with pytest.raises(ZoneRefused, match="sent no meshfabric-version"):
        check_version("zone-a", "", "0.1.0")
