"""Hint hooks behind WRITE fds 15–21 (prover-backends.md §5.4).

Each hook takes the bytes the guest wrote and returns byte strings that are pushed to the
front of the input stream, in order. Semantics restated from SP1's `hook.rs`; integers are
big-endian unless noted.
"""

from __future__ import annotations

from collections.abc import Callable

SECP256K1_P = 2**256 - 2**32 - 977
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256R1_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
SECP256R1_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_P = 2**255 - 19
BLS12_381_P = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab", 16)
_SECP_NQR = 3
_ED25519_NQR = 2
_BLS_NQR = 2

FD_ECRECOVER_HOOK = 15
FD_EDDECOMPRESS = 16
FD_RSA_MUL_MOD = 17
FD_BLS12_381_SQRT = 18
FD_BLS12_381_INVERSE = 19
FD_FP_SQRT = 20
FD_FP_INV = 21


class HookError(ValueError):
    """The guest gave a hook input it cannot handle (SP1 panics here)."""


def _be(value: int, n: int) -> bytes:
    return value.to_bytes(n, "big")


def _sqrt_3mod4(x: int, p: int) -> int | None:
    r = pow(x, (p + 1) // 4, p)
    return r if r * r % p == x % p else None


def _ecrecover_curve(r: int, alpha: int, odd: bool, p: int, n: int) -> list[bytes]:
    if alpha == 0 or alpha >= p or r >= p:
        raise HookError("ecrecover: alpha/r out of range or zero")
    y = _sqrt_3mod4(alpha, p)
    if y is None:
        root = _sqrt_3mod4(alpha * _SECP_NQR % p, p)
        if root is None:
            raise HookError("ecrecover: NQR*alpha is not a square")
        return [b"\x00", _be(root, 32)]
    if r == 0 or r >= n:
        raise HookError("ecrecover: r is not a valid non-zero scalar")
    if (y & 1) != odd:
        y = (p - y) % p
    return [b"\x01", _be(y, 32), _be(pow(r, -1, n), 32)]


def hook_ecrecover(buf: bytes) -> list[bytes]:
    """(curve_id | r_is_y_odd << 7) ‖ r ‖ alpha → [1], y, r^-1 mod n   or   [0], sqrt(NQR·alpha)."""
    if len(buf) != 65:
        raise HookError(f"ecrecover hook input must be 65 bytes, got {len(buf)}")
    curve, odd = buf[0] & 0x7F, bool(buf[0] & 0x80)
    r, alpha = int.from_bytes(buf[1:33], "big"), int.from_bytes(buf[33:65], "big")
    if curve == 1:
        return _ecrecover_curve(r, alpha, odd, SECP256K1_P, SECP256K1_N)
    if curve == 2:
        return _ecrecover_curve(r, alpha, odd, SECP256R1_P, SECP256R1_N)
    raise HookError(f"ecrecover hook: unsupported curve id {curve}")


def ed25519_sqrt(x: int) -> int | None:
    """A square root mod 2^255-19, or None (p ≡ 5 mod 8: Atkin's variant)."""
    p = ED25519_P
    x %= p
    beta = pow(x, (p + 3) // 8, p)
    if beta * beta % p == x:
        return beta
    beta = beta * pow(2, (p - 1) // 4, p) % p
    return beta if beta * beta % p == x else None


def hook_ed_decompress(buf: bytes) -> list[bytes]:
    """compressed y (LE, sign in bit 255) ‖ v = d·y²+1 (LE) → [1] or [0], v^-1, sqrt(2·u/v)."""
    p = ED25519_P
    y = int.from_bytes(buf[:31] + bytes([buf[31] & 0x7F]), "little")
    if y >= p:
        return [b"\x00"]
    v = int.from_bytes(buf[32:64], "little")
    if v >= p or v == 0:
        raise HookError("ed decompress hook: v is not a non-zero field element")
    v_inv = pow(v, p - 2, p)
    u_div_v = (y * y - 1) * v_inv % p
    if ed25519_sqrt(u_div_v) is not None:
        return [b"\x01"]
    root = ed25519_sqrt(u_div_v * _ED25519_NQR % p)
    if root is None:
        raise HookError("ed decompress hook: NQR product is not a square")
    return [b"\x00", v_inv.to_bytes(32, "little"), root.to_bytes(32, "little")]


def hook_rsa_mul_mod(buf: bytes) -> list[bytes]:
    """prod (512 B LE) ‖ m (256 B LE) → rem (256 B LE), quotient (256 B LE)."""
    if len(buf) != 768:
        raise HookError(f"rsa_mul_mod hook input must be 768 bytes, got {len(buf)}")
    prod, m = int.from_bytes(buf[:512], "little"), int.from_bytes(buf[512:], "little")
    if m == 0:
        raise HookError("rsa_mul_mod hook: zero modulus")
    q, rem = divmod(prod, m)
    return [rem.to_bytes(256, "little"), (q % (1 << 2048)).to_bytes(256, "little")]


def hook_bls12_381_sqrt(buf: bytes) -> list[bytes]:
    p = BLS12_381_P
    x = int.from_bytes(buf[:48], "big")
    if x == 0:
        return [b"\x01", bytes(48)]
    root = _sqrt_3mod4(x, p)
    if root is not None:
        return [b"\x01", _be(root, 48)]
    root = _sqrt_3mod4(_BLS_NQR * x % p, p)
    if root is None:
        raise HookError("bls12-381 sqrt hook: NQR product is not a square")
    return [b"\x00", _be(root, 48)]


def hook_bls12_381_inverse(buf: bytes) -> list[bytes]:
    x = int.from_bytes(buf[:48], "big")
    if x % BLS12_381_P == 0:
        raise HookError("bls12-381 inverse hook: zero has no inverse")
    return [_be(pow(x, BLS12_381_P - 2, BLS12_381_P), 48)]


def _fp_parts(buf: bytes, count: int) -> tuple[int, list[int]]:
    if len(buf) < 4:
        raise HookError("fp hook: missing length prefix")
    n = int.from_bytes(buf[:4], "big")
    if len(buf) != 4 + count * n:
        raise HookError("fp hook: invalid buffer length")
    return n, [int.from_bytes(buf[4 + i * n:4 + (i + 1) * n], "big") for i in range(count)]


def _tonelli_shanks(x: int, p: int, nqr: int) -> int | None:
    if pow(x, (p - 1) // 2, p) != 1:
        return None
    q, s = p - 1, 0
    while q % 2 == 0:
        q, s = q // 2, s + 1
    c, r, t, m = pow(nqr, q, p), pow(x, (q + 1) // 2, p), pow(x, q, p), s
    while t != 1:
        i, tt = 0, t
        while tt != 1:
            tt, i = tt * tt % p, i + 1
            if i == m:
                return None
        b = pow(c, 1 << (m - i - 1), p)
        r, c, m = r * b % p, b * b % p, i
        t = t * c % p
    return r


def _sqrt_fp(x: int, p: int, nqr: int) -> int | None:
    if p % 4 == 3:
        return _sqrt_3mod4(x, p)
    return _tonelli_shanks(x, p, nqr)


def hook_fp_sqrt(buf: bytes) -> list[bytes]:
    """len (u32 BE) ‖ x ‖ p ‖ nqr → [1], sqrt(x)   or   [0], sqrt(nqr·x)."""
    n, (x, p, nqr) = _fp_parts(buf, 3)
    if x >= p or nqr >= p:
        raise HookError("fp sqrt hook: non-canonical input")
    if x == 0:
        return [b"\x01", bytes(n)]
    root = _sqrt_fp(x, p, nqr)
    if root is not None:
        return [b"\x01", _be(root, n)]
    root = _sqrt_fp(nqr * x % p, p, nqr)
    if root is None:
        raise HookError("fp sqrt hook: NQR product is not a square")
    return [b"\x00", _be(root, n)]


def hook_fp_inverse(buf: bytes) -> list[bytes]:
    """len (u32 BE) ‖ x ‖ p → x^(p-2) mod p."""
    n, (x, p) = _fp_parts(buf, 2)
    if x == 0:
        raise HookError("fp inverse hook: zero has no inverse")
    return [_be(pow(x, p - 2, p), n)]


HOOKS: dict[int, Callable[[bytes], list[bytes]]] = {
    FD_ECRECOVER_HOOK: hook_ecrecover,
    FD_EDDECOMPRESS: hook_ed_decompress,
    FD_RSA_MUL_MOD: hook_rsa_mul_mod,
    FD_BLS12_381_SQRT: hook_bls12_381_sqrt,
    FD_BLS12_381_INVERSE: hook_bls12_381_inverse,
    FD_FP_SQRT: hook_fp_sqrt,
    FD_FP_INV: hook_fp_inverse,
}
