"""Regenerate the protobuf/gRPC modules of this package from the top-level proto/ files.

    python -m network_lib.proto.generate [OUT_DIR]

The modules are committed; tests/unit/test_proto_generated.py regenerates them into a
temporary folder and fails if they differ, so the committed code provably matches proto/.
"""
from __future__ import annotations

import sys
from pathlib import Path

PROTO_FILES = ("artifact.proto", "network.proto")
ROOT = Path(__file__).resolve().parents[2]


def generate(out_dir: Path) -> list[Path]:
    """Run protoc (grpcio-tools) and return the generated files."""
    from grpc_tools import protoc  # dev dependency only
    import grpc_tools

    include = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    # Map proto/ to the virtual path network_lib/proto so generated imports are absolute
    # package imports (`from network_lib.proto import network_pb2`).
    args = [
        "protoc",
        f"-Inetwork_lib/proto={ROOT / 'proto'}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(ROOT / "proto" / name) for name in PROTO_FILES],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed")
    produced = sorted((out_dir / "network_lib" / "proto").glob("*_pb2*.py*"))
    return produced


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for path in generate(out):
        print(path)


if __name__ == "__main__":
    main()
