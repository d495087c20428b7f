"""Plonk (gnark, BN254, KZG) verification of an on-chain proof body against a shipped key.

Follows gnark ``backend/plonk/bn254/verify.go`` as SP1's ``sp1-verifier`` does: Fiat-Shamir
over SHA-256 with challenges gamma, beta, alpha, zeta, u; BSB22 commitments hashed to the
field with gnark's expand_message_xmd (RFC 9380 §5.3.1, SHA-256, DST "BSB22-Plonk"); one
batched KZG opening at ζ and one at ωζ checked with two pairings. Scalars are Python ints
mod r. Pure computation on the calling thread (a process-pool worker in the hierophant).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from network_lib.verifier.backends import Backend, g1_msm
from network_lib.verifier.curve import G1Point, R, g1_bytes, g1_neg, g1_uncompressed
from network_lib.verifier.keys import PlonkKey
from network_lib.verifier.report import VerificationFailed

# gnark MarshalSolidity: L, R, O, H0, H1, H2 (G1 x‖y), 5 claimed values (l, r, o, s1, s2),
# Z, z(ωζ), batched opening H, shifted opening H, then per BSB22 commitment its claimed
# value and, after all of them, its point.
_FIXED_LEN = 6 * 64 + 5 * 32 + 64 + 32 + 64 + 64
_CHALLENGES = ("gamma", "beta", "alpha", "zeta", "u")


def _fr32(v: int) -> bytes:
    return v.to_bytes(32, "big")


def _fr_mod(b: bytes) -> int:
    return int.from_bytes(b, "big") % R


def _inv(v: int) -> int:
    if v % R == 0:
        raise VerificationFailed("pairing", "Plonk verification hit a zero denominator")
    return pow(v, R - 2, R)


class Transcript:
    """gnark's fiat-shamir.Transcript: challenge i = sha256(name ‖ challenge i-1 ‖ bindings)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._bindings: dict[str, list[bytes]] = {n: [] for n in names}
        self._order = list(names)
        self._previous: bytes | None = None

    def bind(self, name: str, data: bytes) -> None:
        self._bindings[name].append(data)

    def challenge(self, name: str, points: Sequence[G1Point] = ()) -> int:
        for p in points:
            self.bind(name, g1_bytes(p))
        h = hashlib.sha256(name.encode())
        if self._order.index(name) != 0:
            h.update(self._previous or b"")
        for b in self._bindings[name]:
            h.update(b)
        self._previous = h.digest()
        return _fr_mod(self._previous)


def hash_to_field(msg: bytes, dst: bytes = b"BSB22-Plonk") -> int:
    """gnark fr.Hash(msg, dst, 1): 48 bytes of expand_message_xmd(SHA-256), mod r."""
    length = 48
    dst_prime = dst + bytes([len(dst)])
    b0 = hashlib.sha256(bytes(64) + msg + length.to_bytes(2, "big") + b"\0" + dst_prime).digest()
    b1 = hashlib.sha256(b0 + b"\x01" + dst_prime).digest()
    b2 = hashlib.sha256(bytes(x ^ y for x, y in zip(b0, b1)) + b"\x02" + dst_prime).digest()
    return _fr_mod((b1 + b2)[:length])


class _Proof:
    def __init__(self, body: bytes, n_bsb22: int) -> None:
        want = _FIXED_LEN + 96 * n_bsb22
        if len(body) != want:
            raise VerificationFailed(
                "format", f"Plonk proof body is {len(body)} bytes, expected {want}")

        def g1(off: int, what: str) -> G1Point:
            try:
                return g1_uncompressed(body[off:off + 64], f"Plonk point {what}")
            except ValueError as e:
                raise VerificationFailed("point", f"malformed point: {e}") from None

        def fr(off: int, what: str) -> int:
            v = int.from_bytes(body[off:off + 32], "big")
            if v >= R:
                raise VerificationFailed("point", f"Plonk {what} is not a field element")
            return v

        self.lro = [g1(64 * i, n) for i, n in enumerate(("L", "R", "O"))]
        self.h = [g1(192 + 64 * i, f"H{i}") for i in range(3)]
        self.claimed = [fr(384 + 32 * i, f"claimed value {i}") for i in range(5)]
        self.z = g1(544, "Z")
        self.zu = fr(608, "z(ωζ)")
        self.batched_h = g1(640, "batched opening H")
        self.shifted_h = g1(704, "shifted opening H")
        self.claimed += [fr(768 + 32 * i, f"Qcp claimed value {i}") for i in range(n_bsb22)]
        base = 768 + 32 * n_bsb22
        self.bsb22 = [g1(base + 64 * i, f"BSB22 commitment {i}") for i in range(n_bsb22)]


def verify(key: PlonkKey, body: bytes, inputs: Sequence[int], backend: Backend) -> None:
    """Raise :class:`VerificationFailed` unless the proof verifies for ``inputs``."""
    if len(inputs) != key.nb_public:
        raise VerificationFailed(
            "public_inputs", f"{len(inputs)} public inputs, the key takes {key.nb_public}")
    pr = _Proof(body, len(key.qcp))
    fs = Transcript(_CHALLENGES)
    for p in (*key.s, key.ql, key.qr, key.qm, key.qo, key.qk, *key.qcp):
        fs.bind("gamma", g1_bytes(p))
    for w in inputs:
        fs.bind("gamma", _fr32(w))
    gamma = fs.challenge("gamma", pr.lro)
    beta = fs.challenge("beta")
    alpha = fs.challenge("alpha", [*pr.bsb22, pr.z])
    zeta = fs.challenge("zeta", pr.h)

    n, n_inv, omega = key.size, key.size_inv, key.generator
    zh = (pow(zeta, n, R) - 1) % R
    lagrange_one = zh * _inv(zeta - 1) * n_inv % R
    pi, accw = 0, 1
    for w in inputs:  # Σ Lᵢ(ζ)·wᵢ, Lᵢ(ζ) = ωⁱ(ζⁿ-1) / (n(ζ-ωⁱ))
        pi = (pi + zh * _inv(zeta - accw) * n_inv * accw * w) % R
        accw = accw * omega % R
    for cmt, idx in zip(pr.bsb22, key.commitment_indexes):
        w_i = pow(omega, key.nb_public + idx, R)
        pi = (pi + zh * w_i * _inv(zeta - w_i) * n_inv * hash_to_field(g1_bytes(cmt))) % R

    ll, r, o, s1, s2 = pr.claimed[:5]     # gnark's l(ζ), r(ζ), o(ζ), s1(ζ), s2(ζ)
    zu = pr.zu
    a2l1 = lagrange_one * alpha * alpha % R
    const_lin = -((beta * s1 + gamma + ll) * (beta * s2 + gamma + r) * (o + gamma) * alpha * zu
                  - a2l1 + pi) % R
    coef_s3 = (beta * s1 + ll + gamma) * (beta * s2 + r + gamma) * beta * alpha * zu % R
    u_ = key.coset_shift
    coef_z = (a2l1 - alpha * (beta * zeta + gamma + ll) * (beta * u_ * zeta + gamma + r)
              * (beta * u_ * u_ * zeta + gamma + o)) % R
    zn2 = pow(zeta, n + 2, R)
    lin_digest = g1_msm(
        backend,
        [*pr.bsb22, key.ql, key.qr, key.qm, key.qo, key.qk, key.s[2], pr.z, *pr.h],
        [*pr.claimed[5:], ll, r, ll * r, o, 1, coef_s3, coef_z, -zh, -zn2 * zh, -zn2 * zn2 * zh])

    digests = [lin_digest, *pr.lro, key.s[0], key.s[1], *key.qcp]
    claimed = [const_lin, *pr.claimed]
    # KZG fold at ζ: its own transcript (challenge "gamma"), bound into the main one's "u".
    fold_fs = Transcript(("gamma",))
    fold_fs.bind("gamma", _fr32(zeta))
    for d in digests:
        fold_fs.bind("gamma", g1_bytes(d))
    for v in claimed:
        fold_fs.bind("gamma", _fr32(v))
    fold_fs.bind("gamma", _fr32(zu))
    v = fold_fs.challenge("gamma")
    fs.bind("u", _fr32(v))
    powers = [pow(v, i, R) for i in range(len(digests))]
    folded_digest = g1_msm(backend, digests, powers)
    folded_eval = sum(c * p for c, p in zip(claimed, powers)) % R
    u = fs.challenge("u", [folded_digest, pr.z, pr.batched_h, pr.shifted_h])

    # Batch the two openings (ζ and ωζ) with the random u and check with two pairings.
    shifted_zeta = zeta * omega % R
    quotients = g1_msm(backend, [pr.batched_h, pr.shifted_h], [1, u])
    rhs = g1_msm(
        backend,
        [folded_digest, pr.z, key.kzg_g1, pr.batched_h, pr.shifted_h],
        [1, u, -(folded_eval + u * zu), zeta, u * shifted_zeta])
    try:
        ok = backend.pairing_check([(rhs, key.kzg_g2[0]), (g1_neg(quotients), key.kzg_g2[1])])
    except ValueError as e:
        raise VerificationFailed("point", f"malformed point: {e}") from None
    if not ok:
        raise VerificationFailed("pairing", "Plonk pairing check failed")
