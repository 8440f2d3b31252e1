from __future__ import annotations

import pytest

from meshfabric.cli.args import parse_pairs
from meshfabric.cli.errors import MeshctlError


def test_pairs_split_at_the_first_equals_sign() -> None:
    assert parse_pairs(["a=1", "url=http://x?y=z", "empty="], "--var") == {
        "a": "1",
        "url": "http://x?y=z",
        "empty": "",
    }


@pytest.mark.parametrize("value", ["no-sign", "=value"])
def test_pairs_without_a_key_are_refused_naming_the_option(value: str) -> None:
    with pytest.raises(MeshctlError, match=f'--label expects KEY=VALUE, got "{value}"'):
        parse_pairs([value], "--label")
