"""The result of one execution: a plain, picklable dataclass."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExecutionReport:
    cycles: int  # executed RISC-V instructions, ecall = 1 (prover-backends.md §5.8)
    public_values: bytes  # the raw fd-13 stream (§5.6)
    exit_code: int
    public_values_digest: bytes  # the 32 bytes committed with 8 x COMMIT (§5.6)
    deferred_proofs_digest: bytes  # the 8 COMMIT_DEFERRED_PROOFS words, u32 LE each
    version: int  # circuit family: 6 (ELF64, RV64IM) or 5 (ELF32, RV32IM)
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def digest_matches(self) -> bool:
        """Whether sha256(public_values) equals the committed digest (§5.6)."""
        import hashlib

        return hashlib.sha256(self.public_values).digest() == self.public_values_digest
