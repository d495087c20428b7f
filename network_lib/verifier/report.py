"""The verdict record every verification returns, and the failure that carries one.

Owned by :mod:`network_lib.verifier`; immutable, safe to pickle across the process pool.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# What a failed check is called in ``Report.check`` (stable: logs, tests and the
# hierophant's retry rules key on it).
CHECKS = ("input", "format", "prefix", "public_inputs", "public_values", "exit_code", "vk_root",
          "nonce", "point", "pairing", "vkey")


@dataclass(frozen=True)
class Report:
    """``valid``; ``mode`` (groth16/plonk) and ``circuit_version`` when they could be told;
    ``reason`` says what failed (or what was verified); ``check`` is the short name of the
    failed check (None when valid); ``proof_vkey`` is the program vkey (BN254 element, hex)
    the proof carries when it is known."""

    valid: bool
    mode: str | None
    circuit_version: str | None
    reason: str
    check: str | None = None
    proof_vkey: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


class VerificationFailed(Exception):
    """Raised inside the verifier; turned into a ``Report(valid=False)`` at the API edge."""

    def __init__(self, check: str, reason: str) -> None:
        assert check in CHECKS, check
        super().__init__(reason)
        self.check = check
        self.reason = reason
