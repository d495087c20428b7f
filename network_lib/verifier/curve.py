"""alt_bn128 (BN254) points as Python integers: decoding, curve checks, field arithmetic.

Owns the byte layouts of points (gnark compressed, Solidity uncompressed) and the checks a
point must pass before any backend sees it; the group law and pairings live in
:mod:`network_lib.verifier.backends`. Pure functions, safe on any thread or process.

Representation: a G1 point is ``(x, y)``; a G2 point is ``((x0, x1), (y0, y1))`` with
``x = x0 + x1·u`` over Fp2 = Fp[u]/(u² + 1); ``None`` is the point at infinity.
"""

from __future__ import annotations

# The curve gnark, SP1 and Ethereum (EIP-196/197) use: y² = x³ + 3 over this field.
P = 0x30644E72E131A029B85045B68181585D97816A916871CA8D3C208C16D87CFD47
# Order of G1/G2 and modulus of the scalar field Fr.
R = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001

G1Point = tuple[int, int] | None
Fp2 = tuple[int, int]
G2Point = tuple[Fp2, Fp2] | None

_HALF_P = (P - 1) // 2
# gnark-crypto ecc/bn254/marshal.go: the top two bits of a compressed point's first byte.
_MASK = 0b11 << 6
_SMALLEST = 0b10 << 6
_LARGEST = 0b11 << 6
_INFINITY = 0b01 << 6


class PointError(ValueError):
    """Bytes that are not a valid curve point; the message names the point and the fault."""


# --- Fp2 arithmetic ---------------------------------------------------------------------


def f2_mul(a: Fp2, b: Fp2) -> Fp2:
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def f2_add(a: Fp2, b: Fp2) -> Fp2:
    return ((a[0] + b[0]) % P, (a[1] + b[1]) % P)


def f2_inv(a: Fp2) -> Fp2:
    d = pow(a[0] * a[0] + a[1] * a[1], P - 2, P)
    return (a[0] * d % P, -a[1] * d % P)


# Twist coefficient b' = 3 / (9 + u).
B2: Fp2 = f2_mul((3, 0), f2_inv((9, 1)))


def _fp_sqrt(a: int) -> int | None:
    r = pow(a, (P + 1) // 4, P)  # P ≡ 3 mod 4
    return r if r * r % P == a % P else None


def _fp2_sqrt(a: Fp2) -> Fp2 | None:
    """A square root in Fp2 (the 'complex method'), or None when ``a`` is not a square."""
    a0, a1 = a[0] % P, a[1] % P
    if a1 == 0:
        r = _fp_sqrt(a0)
        if r is not None:
            return (r, 0)
        r = _fp_sqrt(-a0 % P)
        return None if r is None else (0, r)
    alpha = _fp_sqrt((a0 * a0 + a1 * a1) % P)
    if alpha is None:
        return None
    inv2 = (P + 1) // 2
    x0 = _fp_sqrt((a0 + alpha) * inv2 % P)
    if x0 is None:
        x0 = _fp_sqrt((a0 - alpha) * inv2 % P)
    if not x0:
        return None
    root = (x0, a1 * pow(2 * x0, P - 2, P) % P)
    return root if f2_mul(root, root) == (a0, a1) else None


def _f2_largest(y: Fp2) -> bool:
    # gnark-crypto E2.LexicographicallyLargest: A1 decides unless it is zero.
    return (y[1] if y[1] else y[0]) > _HALF_P


def _g2_rhs(x: Fp2) -> Fp2:
    return f2_add(f2_mul(f2_mul(x, x), x), B2)


# --- checks -------------------------------------------------------------------------------


def on_g1(p: G1Point) -> bool:
    return p is None or (p[1] * p[1] - p[0] ** 3 - 3) % P == 0


def on_g2_curve(q: G2Point) -> bool:
    """On the twist (subgroup membership is the backend's job: it needs a scalar multiple)."""
    return q is None or f2_mul(q[1], q[1]) == _g2_rhs(q[0])


def g1_neg(p: G1Point) -> G1Point:
    return None if p is None else (p[0], -p[1] % P)


# --- decoding -----------------------------------------------------------------------------


def _coord(b: bytes, what: str) -> int:
    v = int.from_bytes(b, "big")
    if v >= P:
        raise PointError(f"{what}: coordinate is not below the field modulus")
    return v


def g1_compressed(b: bytes, what: str) -> G1Point:
    """gnark compressed G1 (32 bytes): 0b10 smallest y, 0b11 largest y, 0b01 infinity."""
    flag = b[0] & _MASK
    x = _coord(bytes([b[0] & ~_MASK & 0xFF]) + b[1:32], what)
    if flag == _INFINITY:
        if x:
            raise PointError(f"{what}: infinity flag with a non-zero x")
        return None
    if flag not in (_SMALLEST, _LARGEST):
        raise PointError(f"{what}: not a compressed point (flag bits {flag >> 6:02b})")
    y = _fp_sqrt((x ** 3 + 3) % P)
    if y is None:
        raise PointError(f"{what}: x is not on the curve")
    if (y > _HALF_P) != (flag == _LARGEST):
        y = -y % P
    return (x, y)


def g2_compressed(b: bytes, what: str) -> G2Point:
    """gnark compressed G2 (64 bytes): x.A1 (carrying the flag bits) then x.A0."""
    flag = b[0] & _MASK
    x1 = _coord(bytes([b[0] & ~_MASK & 0xFF]) + b[1:32], what)
    x0 = _coord(b[32:64], what)
    if flag == _INFINITY:
        if x0 or x1:
            raise PointError(f"{what}: infinity flag with a non-zero x")
        return None
    if flag not in (_SMALLEST, _LARGEST):
        raise PointError(f"{what}: not a compressed point (flag bits {flag >> 6:02b})")
    y = _fp2_sqrt(_g2_rhs((x0, x1)))
    if y is None:
        raise PointError(f"{what}: x is not on the curve")
    if _f2_largest(y) != (flag == _LARGEST):
        y = (-y[0] % P, -y[1] % P)
    return ((x0, x1), y)


def g1_uncompressed(b: bytes, what: str) -> G1Point:
    """Solidity/EIP-196 G1: x ‖ y, 32 bytes each big-endian; all zeros is infinity."""
    x, y = _coord(b[0:32], what), _coord(b[32:64], what)
    if x == 0 and y == 0:
        return None
    if not on_g1((x, y)):
        raise PointError(f"{what}: not on the curve")
    return (x, y)


def g2_uncompressed(b: bytes, what: str) -> G2Point:
    """Solidity/EIP-197 G2: x.A1 ‖ x.A0 ‖ y.A1 ‖ y.A0 (imaginary part first)."""
    x1, x0, y1, y0 = (_coord(b[i:i + 32], what) for i in (0, 32, 64, 96))
    if not (x0 or x1 or y0 or y1):
        return None
    q = ((x0, x1), (y0, y1))
    if not on_g2_curve(q):
        raise PointError(f"{what}: not on the curve")
    return q


def g1_bytes(p: G1Point) -> bytes:
    """x ‖ y big-endian (gnark ``Marshal``/``RawBytes`` and EIP-196); zeros for infinity."""
    if p is None:
        return bytes(64)
    return p[0].to_bytes(32, "big") + p[1].to_bytes(32, "big")


def g2_bytes(q: G2Point) -> bytes:
    """EIP-197 order: x.A1 ‖ x.A0 ‖ y.A1 ‖ y.A0; zeros for infinity."""
    if q is None:
        return bytes(128)
    (x0, x1), (y0, y1) = q
    return b"".join(v.to_bytes(32, "big") for v in (x1, x0, y1, y0))
