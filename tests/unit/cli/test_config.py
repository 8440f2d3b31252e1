from __future__ import annotations

import stat
from pathlib import Path

import pytest

from meshfabric.cli.config import LOCAL_ADDRESS, ControlPlaneEntry, MeshctlConfig
from meshfabric.cli.errors import MeshctlError

US_EAST = ControlPlaneEntry("us-east-1", "http://127.0.0.1:5681", "secret-token")
EU_WEST = ControlPlaneEntry("eu-west-1", "http://127.0.0.1:6681")


def test_without_a_file_commands_talk_to_the_local_control_plane(tmp_path: Path) -> None:
    config = MeshctlConfig.load(tmp_path / "absent.yaml")
    assert config.current() == ControlPlaneEntry("local", LOCAL_ADDRESS)


def test_add_switches_to_the_new_control_plane_and_refuses_to_replace_silently() -> None:
    config = MeshctlConfig()
    config.add(US_EAST, overwrite=False)
    config.add(EU_WEST, overwrite=False)
    assert config.current() == EU_WEST
    with pytest.raises(MeshctlError, match="already exists; pass --overwrite"):
        config.add(US_EAST, overwrite=False)
    replaced = ControlPlaneEntry("us-east-1", "http://127.0.0.1:7681")
    config.add(replaced, overwrite=True)
    assert config.control_planes == [EU_WEST, replaced]


def test_use_and_remove_know_only_added_control_planes() -> None:
    config = MeshctlConfig([US_EAST, EU_WEST], current_context="eu-west-1")
    config.use("us-east-1")
    assert config.current() == US_EAST
    config.remove("us-east-1")
    assert config.current_context is None
    with pytest.raises(MeshctlError, match=r'no control plane named "nope" \(known: eu-west-1\)'):
        config.use("nope")


def test_saved_file_round_trips_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "meshctl.yaml"
    config = MeshctlConfig([US_EAST, EU_WEST], current_context="us-east-1")
    config.save(path)
    assert MeshctlConfig.load(path) == config
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "authToken: secret-token" in path.read_text()


def test_redacted_yaml_hides_tokens_but_shows_which_are_set() -> None:
    shown = MeshctlConfig([US_EAST, EU_WEST]).to_yaml(redact=True)
    assert "secret-token" not in shown
    assert "authToken: '*****'" in shown
    assert "authToken: null" in shown


def test_a_file_that_is_not_a_config_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "meshctl.yaml"
    path.write_text("controlPlanes:\n- address: http://x\n")
    with pytest.raises(MeshctlError, match="is not a meshctl config file"):
        MeshctlConfig.load(path)
