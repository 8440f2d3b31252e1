"""Each role's argument spec and defaults describe the same variables with the same defaults.

The spec is what `ansible-doc -t role` shows and what a play is validated against; the
defaults are what a play gets. They are written twice (Ansible reads a default only from
defaults/main.yml), so this keeps them from drifting apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
PUBLIC_ROLES = sorted(path.name for path in ROLES.iterdir() if (path / "defaults").is_dir())


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def main_options(role: str) -> dict[str, dict[str, Any]]:
    spec = load(ROLES / role / "meta" / "argument_specs.yml")
    options: dict[str, dict[str, Any]] = spec["argument_specs"]["main"]["options"]
    return options


def test_there_are_roles_to_check() -> None:
    assert "control_plane" in PUBLIC_ROLES


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_defaults_and_spec_name_the_same_variables(role: str) -> None:
    defaults = load(ROLES / role / "defaults" / "main.yml")

    assert set(defaults) == set(main_options(role))


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_spec_shows_each_default_as_defaults_sets_it(role: str) -> None:
    defaults = load(ROLES / role / "defaults" / "main.yml")
    options = main_options(role)

    differing = {
        name: (options[name].get("default"), value)
        for name, value in defaults.items()
        if name in options and options[name].get("default") != value
    }
    assert differing == {}


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_every_option_is_described_and_typed(role: str) -> None:
    incomplete = [
        name
        for name, option in main_options(role).items()
        if not option.get("description") or not option.get("type")
    ]
    assert incomplete == []


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_variables_carry_the_role_prefix(role: str) -> None:
    public = load(ROLES / role / "defaults" / "main.yml")
    internal_file = ROLES / role / "vars" / "main.yml"
    internal = load(internal_file) if internal_file.exists() else {}

    assert [name for name in public if not name.startswith(f"{role}_")] == []
    assert [name for name in internal or {} if not name.startswith(f"_{role}_")] == []
