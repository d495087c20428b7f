#!/usr/bin/env python3
"""Example prover for the contemplant's `command` backend (docs/command-backend.md).

It proves nothing: it executes the program with the hierophant's Python executor and
writes the SDK mock proof, so a whole network can be tried without a GPU. Run it with the
hierophant's virtual environment, e.g. in etc/contemplant.toml:

    [[provers]]
    backend = "command"
    command = ".venv/bin/python etc/command-prover-example.py"
    sp1_version = "6.4.0"

A real prover replaces `prove_mock` with a call to a binary built on `sp1-sdk`
(see `prove_real` and the doc's "A real prover" section).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

EXIT_OK, EXIT_PROGRAM, EXIT_INFRA = 0, 3, 1


def emit(phase: str, percent: float | None = None, cycles: int | None = None) -> None:
    """One progress line on stdout (anything else on stdout is just logged)."""
    print(json.dumps({"phase": phase, "percent": percent, "cycles": cycles}), flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("elf", "stdin", "out", "circuit-version", "vk-hash"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--mode", required=True, choices=["core", "compressed", "plonk", "groth16"])
    p.add_argument("--nonce", default="0,0,0,0")
    p.add_argument("--cycle-limit", type=int, default=None)
    p.add_argument("--total-cycles", type=int, default=None)
    p.add_argument("--real", metavar="BINARY", help="call a real sp1-sdk prover binary instead")
    return p.parse_args(argv)


def prove_mock(a: argparse.Namespace) -> int:
    from network_lib.executor import GuestError, execute
    from network_lib.mockproof import mock_proof
    from network_lib.versions import ProofMode

    emit("execute", 0.0)
    try:
        report = execute(Path(a.elf).read_bytes(), Path(a.stdin).read_bytes(), a.cycle_limit or None)
    except GuestError as e:
        print(f"the program failed: {e}", file=sys.stderr)
        return EXIT_PROGRAM
    emit("execute", 100.0, report.cycles)
    vk_path = Path(a.out).with_name("vk.bin")          # PROVER_VK: the registered vk bytes
    vk = vk_path.read_bytes() if vk_path.exists() and vk_path.stat().st_size else None
    vk_hash = bytes.fromhex(a.vk_hash.removeprefix("0x"))
    proof = mock_proof(int(ProofMode.parse(a.mode)), a.circuit_version, vk_hash, report.public_values, vk)
    emit("prove", 100.0, report.cycles)
    tmp = Path(a.out + ".tmp")
    tmp.write_bytes(proof)
    tmp.replace(a.out)                                 # the contemplant reads it after exit 0
    return EXIT_OK


def prove_real(a: argparse.Namespace) -> int:
    """Where a real prover goes: e.g. the v5 Rust helper of docs/command-backend.md, which
    loads the ELF and SP1Stdin, proves with sp1-sdk 5.x and writes bincode(ProofFromNetwork)."""
    argv = [a.real, "--elf", a.elf, "--stdin", a.stdin, "--mode", a.mode, "--out", a.out]
    done = subprocess.run(argv)      # its stdout (progress lines) and stderr pass through
    return done.returncode if done.returncode in (EXIT_OK, EXIT_PROGRAM) else EXIT_INFRA


def main(argv: list[str] | None = None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return prove_real(a) if a.real else prove_mock(a)
    except Exception as e:  # noqa: BLE001 - anything unexpected is an infrastructure failure
        print(f"prover error: {e!r}", file=sys.stderr)
        return EXIT_INFRA


if __name__ == "__main__":
    sys.exit(main())
