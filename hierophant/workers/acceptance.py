"""Is an uploaded proof acceptable? (DESIGN.md "Failure rules": accepting a proof.)

The SP1Proof tag must match the mode, the tail must be `public values ‖ sp1_version` with
the job's circuit version, Plonk/Groth16 must parse fully, and the public values must equal
the executed ones when those are known. Runs in a thread: it reads the file.
"""
from __future__ import annotations

from pathlib import Path

from network_lib.bincode import ProofFormatError, inspect_proof

WHOLE = 16 << 20          # read files up to this size whole
TAIL = 1 << 20            # of bigger (Core/Compressed) proofs, the head and this much tail


def check_proof_file(path: Path, mode: int, circuit_version: str,
                     expected_public_values: bytes | None = None) -> str | None:
    """None when acceptable, else the reason (for the worker's 422 and the log)."""
    try:
        inspect_proof(_relevant_bytes(path, expected_public_values), mode=mode,
                      circuit_version=circuit_version, expected_public_values=expected_public_values)
    except (ProofFormatError, ValueError) as e:
        return str(e)
    return None


def _relevant_bytes(path: Path, expected: bytes | None) -> bytes:
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size <= WHOLE:
            return f.read()
        # A Core/Compressed middle is opaque: the verdict depends only on the head and tail.
        head = f.read(12)
        tail = TAIL + (len(expected) if expected else 0)
        f.seek(max(12, size - tail))
        return head + f.read()
