"""Groth16 (gnark, BN254) verification of an on-chain proof body against a shipped key.

Pure computation on the calling thread (a process-pool worker in the hierophant).
"""

from __future__ import annotations

from collections.abc import Sequence

from network_lib.verifier.backends import Backend, g1_msm
from network_lib.verifier.curve import g1_neg, g1_uncompressed, g2_uncompressed
from network_lib.verifier.keys import Groth16Key
from network_lib.verifier.report import VerificationFailed

BODY_LEN = 256  # A (G1, 64) ‖ B (G2, 128, imaginary parts first) ‖ C (G1, 64)


def verify(key: Groth16Key, body: bytes, inputs: Sequence[int], backend: Backend) -> None:
    """Raise :class:`VerificationFailed` unless e(A,B) = e(α,β)·e(L,γ)·e(C,δ),
    L = K₀ + Σ inputs[i]·K[i+1]."""
    if len(body) != BODY_LEN:
        raise VerificationFailed(
            "format", f"Groth16 proof body is {len(body)} bytes, expected {BODY_LEN}")
    if len(inputs) + 1 != len(key.k):
        raise VerificationFailed(
            "public_inputs", f"{len(inputs)} public inputs, the key takes {len(key.k) - 1}")
    try:
        a = g1_uncompressed(body[0:64], "Groth16 point A")
        b = g2_uncompressed(body[64:192], "Groth16 point B")
        c = g1_uncompressed(body[192:256], "Groth16 point C")
    except ValueError as e:
        raise VerificationFailed("point", f"malformed point: {e}") from None
    lin = backend.g1_add(key.k[0], g1_msm(backend, key.k[1:], inputs))
    try:
        ok = backend.pairing_check(
            [(g1_neg(a), b), (key.alpha, key.beta), (lin, key.gamma), (c, key.delta)])
    except ValueError as e:
        raise VerificationFailed("point", f"malformed point: {e}") from None
    if not ok:
        raise VerificationFailed("pairing", "Groth16 pairing check failed")
