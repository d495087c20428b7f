"""`hierophant-exec` (network_lib.executor.cli:main)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from network_lib.executor.cli import main
from tests.executor_elfs import Asm, program_elf, stdin_bytes

DATA = 0x7810_1000


def _files(tmp_path: Path, asm: Asm, stdin: bytes) -> tuple[str, str]:
    elf, sin = tmp_path / "g.elf", tmp_path / "g.stdin"
    elf.write_bytes(program_elf(asm, b"pv!" + bytes(100), data_addr=DATA))
    sin.write_bytes(stdin)
    return str(elf), str(sin)


def _pv_program(code: int = 0) -> Asm:
    return Asm().syscall(2, 13, DATA, 3).syscall(0, code)


def test_json_output_with_zstd_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = zstandard.ZstdCompressor(level=3).compress(stdin_bytes(b"unused"))
    elf, sin = _files(tmp_path, _pv_program(), stdin)
    assert main([elf, sin, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["public_values"] == b"pv!".hex() and out["exit_code"] == 0 and out["cycles"] > 0


def test_guest_failure_and_limit_exit_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elf, sin = _files(tmp_path, _pv_program(1), stdin_bytes())
    assert main([elf, sin]) == 1
    assert "HALT_WITH_NON_ZERO_EXIT_CODE" in capsys.readouterr().err
    elf, sin = _files(tmp_path, _pv_program(), stdin_bytes())
    assert main([elf, sin, "--cycle-limit", "2"]) == 1
    assert "cycle limit of 2 cycles exceeded" in capsys.readouterr().err


def test_bad_elf_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x").write_bytes(b"junk")
    (tmp_path / "s").write_bytes(stdin_bytes())
    assert main([str(tmp_path / "x"), str(tmp_path / "s")]) == 2
    assert "bad magic" in capsys.readouterr().err
