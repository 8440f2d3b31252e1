"""meshctl reading files as a careless or hostile author writes them: each is one clear error."""

from __future__ import annotations

from pathlib import Path

from tests.integration.cli.conftest import Meshctl, mesh_doc, write

# Nine levels of nine aliases: 387 million strings once expanded, in under 1 KB of YAML.
ALIAS_BOMB = (
    "type: Mesh\nname: bomb\nlabels:\n"
    + "\n".join(
        ["  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        + [
            f"  {chr(98 + level)}: &{chr(98 + level)} ["
            + ", ".join([f"*{chr(97 + level)}"] * 9)
            + "]"
            for level in range(8)
        ]
    )
    + "\n"
)


def test_an_alias_bomb_is_refused_without_growing(meshctl: Meshctl, tmp_path: Path) -> None:
    bomb = write(tmp_path / "bomb.yaml", ALIAS_BOMB)
    error = meshctl.fails("apply", "-f", str(bomb))
    assert f"{bomb}, document 1: stands for more than 1000000 values" in error


def test_a_duplicate_key_is_refused_with_its_lines(meshctl: Meshctl, tmp_path: Path) -> None:
    doubled = write(tmp_path / "doubled.yaml", "type: Mesh\nname: one\nlabels: {}\nname: two\n")
    error = meshctl.fails("apply", "-f", str(doubled))
    assert str(doubled) in error and 'duplicate key "name" (first on line 2)' in error
    assert "line 4" in error


def test_a_file_that_is_not_utf8_is_refused_by_name(
    meshctl: Meshctl, tmp_path: Path, mesh_name: str
) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(mesh_doc(mesh_name).encode() + "labels: {team: équipe}\n".encode("latin-1"))
    error = meshctl.fails("apply", "-f", str(latin1))
    assert f"{latin1}: not UTF-8 text" in error


def test_merge_keys_may_still_be_overridden(
    meshctl: Meshctl, tmp_path: Path, mesh_name: str
) -> None:
    merged = write(
        tmp_path / "merged.yaml",
        f"type: Mesh\nname: {mesh_name}\nlabels:\n  <<: &base {{team: ops, tier: one}}\n"
        "  tier: two\n",
    )
    meshctl.ok("apply", "-f", str(merged))
    assert "tier: two" in meshctl.ok("get", "mesh", mesh_name, "-o", "yaml")
