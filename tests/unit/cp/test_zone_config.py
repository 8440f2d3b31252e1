"""A federated zone's configuration: global's replicas given as several addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshfabric.cp import config as cp_config
from meshfabric.cp.config_file import ConfigError


def zone(address: str, tmp_path: Path) -> cp_config.Settings:
    section = {"global_address": address, "token_file": str(tmp_path / "zone.token")}
    return cp_config.load(mode="zone", zone=section)


def test_global_replicas_are_comma_separated_addresses_dialled_in_the_order_given(
    tmp_path: Path,
) -> None:
    settings = zone("grpcs://global-1:5685, grpcs://global-2:5685", tmp_path)
    assert settings.zone.global_addresses == ("grpcs://global-1:5685", "grpcs://global-2:5685")


def test_a_malformed_address_among_several_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="global-2:5685"):
        zone("grpcs://global-1:5685,global-2:5685", tmp_path)
