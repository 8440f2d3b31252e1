"""The committed *_pb2 modules are what `make proto` generates from the .proto files now."""

from pathlib import Path

import pytest
from grpc_tools import protoc

SRC = Path(__file__).parents[3] / "src"
PROTOS = sorted(path.relative_to(SRC) for path in SRC.rglob("*.proto"))


@pytest.mark.parametrize("proto", PROTOS, ids=str)
def test_generated_modules_match_their_proto_file(proto: Path, tmp_path: Path) -> None:
    status = protoc.main(
        ["protoc", f"-I{SRC}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}", str(proto)]
    )
    assert status == 0
    for suffix in (".py", ".pyi"):
        generated = proto.with_name(proto.stem + "_pb2" + suffix)
        assert (tmp_path / generated).read_text() == (SRC / generated).read_text(), (
            f"{generated} is stale: run make proto"
        )
