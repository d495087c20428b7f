"""Pure-math SP1 precompile syscalls, in guest memory layout.

prover-backends.md §5.3 lists the syscalls. Every function here takes and returns
`bytes` exactly as they lie in guest memory (little-endian limbs), so the executor
reads the buffers, calls, and writes the result back. `PRECOMPILES` (bottom) maps
each 32-bit syscall code to a `PrecompileSpec` saying which registers are pointers,
the buffer sizes per version (v5 = RV32, v6 = RV64) and what is written back;
`run_precompile` drives one call through caller-supplied memory accessors.

Semantics follow SP1's executors (sp1 `crates/core/executor/src/syscalls/precompiles`,
`crates/curves`; restated, not copied). Where SP1 panics, or produces a value its
AIR cannot prove, we raise `PrecompileError` (§7.2 item 8: refuse, don't guess):

- Weierstrass add with P == Q: SP1 panics ("use sw_double"). P == -Q and doubling a
  point with y == 0: SP1's executor divides by zero (its modpow yields 0) and writes an
  unprovable value; we raise. There is no point-at-infinity encoding in the syscall
  ABI (sp1-lib tracks infinity in the guest). Points are not checked to be on the
  curve (SP1 does not either); coordinates are reduced mod p.
- Field ops reduce inputs mod p (SP1 does for Fp; for Fp2 add/sub, unreduced inputs
  could underflow in SP1's BigUint code - we just reduce).
- ed_decompress / *_decompress: invalid encodings raise (SP1 panics).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from . import poseidon2 as _poseidon2


class PrecompileError(Exception):
    """The guest asked for something SP1 would panic on (or could not prove)."""


# --------------------------------------------------------------------------- helpers


def _le(b: bytes) -> int:
    return int.from_bytes(b, "little")


def _to_le(v: int, n: int) -> bytes:
    return v.to_bytes(n, "little")


def _need(buf: bytes, n: int, what: str) -> None:
    if len(buf) != n:
        raise PrecompileError(f"{what}: expected {n} bytes, got {len(buf)}")


def _words(buf: bytes, count: int, slot_bytes: int, what: str) -> list[int]:
    """Read `count` u32 words; v6 keeps each in the low half of a u64 slot."""
    if slot_bytes == 4:
        _need(buf, 4 * count, what)
        return list(struct.unpack(f"<{count}I", buf))
    if slot_bytes == 8:
        _need(buf, 8 * count, what)
        return [v & 0xFFFFFFFF for v in struct.unpack(f"<{count}Q", buf)]
    raise ValueError("slot_bytes must be 4 (v5) or 8 (v6)")


def _pack_words(words: list[int], slot_bytes: int) -> bytes:
    return struct.pack(f"<{len(words)}{'I' if slot_bytes == 4 else 'Q'}", *words)


# --------------------------------------------------------------------------- SHA-256
# prover-backends.md §5.3 SHA_EXTEND / SHA_COMPRESS (v6: u32 words in u64 slots).

_M32 = 0xFFFFFFFF
# fmt: off
_SHA_K = (
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
)
# fmt: on


def sha_extend(w: bytes, slot_bytes: int = 4) -> bytes:
    """SHA-256 message schedule: fill w[16..64) from w[0..16). Returns the whole buffer."""
    ws = _words(w, 64, slot_bytes, "sha_extend w")
    for i in range(16, 64):
        a, b = ws[i - 15], ws[i - 2]
        # sigma0 = rotr7 ^ rotr18 ^ shr3; sigma1 = rotr17 ^ rotr19 ^ shr10 (on a 64-bit copy)
        a2, b2 = a | (a << 32), b | (b << 32)
        s0 = ((a2 >> 7) ^ (a2 >> 18) ^ (a >> 3)) & _M32
        s1 = ((b2 >> 17) ^ (b2 >> 19) ^ (b >> 10)) & _M32
        ws[i] = (ws[i - 16] + s0 + ws[i - 7] + s1) & _M32
    return _pack_words(ws, slot_bytes)


def sha_compress(w: bytes, h: bytes, slot_bytes: int = 4) -> bytes:
    """SHA-256 compression over an extended w[64]: h <- h + compress(h, w). Returns new h."""
    ws = _words(w, 64, slot_bytes, "sha_compress w")
    hs = _words(h, 8, slot_bytes, "sha_compress h")
    a, b, c, d, e, f, g, hh = hs
    m = _M32
    for k, wi in zip(_SHA_K, ws):
        e2, a2 = e | (e << 32), a | (a << 32)  # rotr(x, n) == (x2 >> n) & m
        s1 = ((e2 >> 6) ^ (e2 >> 11) ^ (e2 >> 25)) & m
        t1 = hh + s1 + ((e & f) ^ (~e & g)) + k + wi
        s0 = ((a2 >> 2) ^ (a2 >> 13) ^ (a2 >> 22)) & m
        maj = (a & b) ^ (a & c) ^ (b & c)
        hh, g, f, e = g, f, e, (d + t1) & m
        d, c, b, a = c, b, a, (t1 + s0 + maj) & m
    out = [(x + y) & m for x, y in zip(hs, (a, b, c, d, e, f, g, hh))]
    return _pack_words(out, slot_bytes)


# --------------------------------------------------------------------------- Keccak-f[1600]
# prover-backends.md §5.3 KECCAK_PERMUTE: 25 u64 lanes (v5: 50 u32, same bytes).

_KECCAK_RC = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip
# rho offsets r[x][y] for lane x + 5y
_KECCAK_ROT = ((0, 36, 3, 41, 18), (1, 44, 10, 45, 2), (62, 6, 43, 15, 61),
               (28, 55, 25, 21, 56), (27, 20, 39, 8, 14))  # fmt: skip


def _gen_keccak_f() -> Callable[[list[int]], list[int]]:
    """Build Keccak-f[1600] with one unrolled round body (locals, no per-lane lists)."""
    m = "0xFFFFFFFFFFFFFFFF"

    def rot(v: str, n: int) -> str:
        return v if n == 0 else f"((({v} << {n}) & {m}) | ({v} >> {64 - n}))"

    lanes = ", ".join(f"a{i}" for i in range(25))
    body = ["def keccak_f(st):", f"    {lanes} = st", "    for rc in RC:"]
    for x in range(5):
        body.append(f"        c{x} = a{x} ^ a{x + 5} ^ a{x + 10} ^ a{x + 15} ^ a{x + 20}")
    for x in range(5):
        body.append(f"        d{x} = c{(x - 1) % 5} ^ {rot(f'c{(x + 1) % 5}', 1)}")
    # theta + rho + pi: b[y + 5*((2x+3y)%5)] = rot(a[x+5y] ^ d[x], r[x][y])
    for x in range(5):
        for y in range(5):
            dst = y + 5 * ((2 * x + 3 * y) % 5)
            body.append(f"        t = a{x + 5 * y} ^ d{x}")
            body.append(f"        b{dst} = {rot('t', _KECCAK_ROT[x][y])}")
    # chi: a = b ^ (~b1 & b2), with ~ as xor against the 64-bit mask
    for y in range(5):
        for x in range(5):
            i, i1, i2 = x + 5 * y, (x + 1) % 5 + 5 * y, (x + 2) % 5 + 5 * y
            body.append(f"        a{i} = b{i} ^ ((b{i1} ^ {m}) & b{i2})")
    body.append("        a0 ^= rc")
    body.append(f"    return [{lanes}]")
    ns: dict[str, object] = {"RC": _KECCAK_RC}
    exec("\n".join(body), ns)  # noqa: S102 - generated from the constants above
    return ns["keccak_f"]  # type: ignore[return-value]


keccak_f1600: Callable[[list[int]], list[int]] = _gen_keccak_f()
_KECCAK_STRUCT = struct.Struct("<25Q")


def keccak_permute(state: bytes) -> bytes:
    """Keccak-f[1600] on a 200-byte state (25 LE u64 lanes, lane index x + 5y)."""
    _need(state, 200, "keccak_permute state")
    return _KECCAK_STRUCT.pack(*keccak_f1600(list(_KECCAK_STRUCT.unpack(state))))


# --------------------------------------------------------------------------- Weierstrass curves
# prover-backends.md §5.3 *_ADD / *_DOUBLE: P = x ‖ y (LE), P <- P + Q in place.


@dataclass(frozen=True)
class WeierstrassCurve:
    """y^2 = x^3 + a x + b over F_p; `size` bytes per coordinate."""

    name: str
    p: int
    a: int
    b: int
    size: int

    def decode(self, point: bytes) -> tuple[int, int]:
        _need(point, 2 * self.size, f"{self.name} point")
        n = self.size
        return _le(point[:n]) % self.p, _le(point[n:]) % self.p

    def encode(self, x: int, y: int) -> bytes:
        return _to_le(x, self.size) + _to_le(y, self.size)


SECP256K1 = WeierstrassCurve("secp256k1", 2**256 - 2**32 - 977, 0, 7, 32)
SECP256R1 = WeierstrassCurve(
    "secp256r1",
    0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC,
    0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    32,
)
BN254 = WeierstrassCurve(
    "bn254", 21888242871839275222246405745257275088696311157297823662689037894645226208583, 0, 3, 32
)
BLS12381 = WeierstrassCurve(
    "bls12381",
    0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB,
    0,
    4,
    48,
)


def weierstrass_add(curve: WeierstrassCurve, p: bytes, q: bytes) -> bytes:
    """Affine P + Q (SP1 `sw_add`). P == Q and P == -Q raise `PrecompileError`."""
    x1, y1 = curve.decode(p)
    x2, y2 = curve.decode(q)
    m = curve.p
    if x1 == x2:
        what = "P == Q (SP1 panics: use double)" if y1 == y2 else "P == -Q (result is infinity)"
        raise PrecompileError(f"{curve.name}_add: {what}")
    s = (y2 - y1) * pow(x2 - x1, -1, m) % m
    x3 = (s * s - x1 - x2) % m
    return curve.encode(x3, (s * (x1 - x3) - y1) % m)


def weierstrass_double(curve: WeierstrassCurve, p: bytes) -> bytes:
    """Affine 2P (SP1 `sw_double`). y == 0 raises `PrecompileError`."""
    x, y = curve.decode(p)
    m = curve.p
    if y == 0:
        raise PrecompileError(f"{curve.name}_double: y == 0 (result is infinity)")
    s = (3 * x * x + curve.a) * pow(2 * y, -1, m) % m
    x3 = (s * s - 2 * x) % m
    return curve.encode(x3, (s * (x - x3) - y) % m)


def secp256k1_add(p: bytes, q: bytes) -> bytes:
    return weierstrass_add(SECP256K1, p, q)


def secp256k1_double(p: bytes) -> bytes:
    return weierstrass_double(SECP256K1, p)


def secp256r1_add(p: bytes, q: bytes) -> bytes:
    return weierstrass_add(SECP256R1, p, q)


def secp256r1_double(p: bytes) -> bytes:
    return weierstrass_double(SECP256R1, p)


def bn254_add(p: bytes, q: bytes) -> bytes:
    return weierstrass_add(BN254, p, q)


def bn254_double(p: bytes) -> bytes:
    return weierstrass_double(BN254, p)


def bls12381_add(p: bytes, q: bytes) -> bytes:
    return weierstrass_add(BLS12381, p, q)


def bls12381_double(p: bytes) -> bytes:
    return weierstrass_double(BLS12381, p)


def _sqrt_3mod4(v: int, p: int) -> int | None:
    """Square root for p = 3 mod 4 (all three decompress curves), None if not a square."""
    r = pow(v, (p + 1) // 4, p)
    return r if r * r % p == v % p else None


def weierstrass_decompress(curve: WeierstrassCurve, buf: bytes, sign: int) -> bytes:
    """v5 *_DECOMPRESS: buf = 2n bytes, x (LE) in [n, 2n); y (LE) is written to [0, n).

    Layout ported from v5 `create_ec_decompress_event`: x is read at ptr + n, y is
    written at ptr. `sign` (a1, 0 or 1) selects y: for secp256k1/r1 it is y's parity
    (k256/p256 `decompress(x, y_is_odd)`); for bls12-381 it is the ZCash "y is
    lexicographically largest" flag (amcl `deserialize_g1` with 0x20), i.e. y > p - y.
    """
    n = curve.size
    _need(buf, 2 * n, f"{curve.name}_decompress buffer")
    if sign not in (0, 1):
        raise PrecompileError(f"{curve.name}_decompress: sign must be 0 or 1")
    x = _le(buf[n:])
    p = curve.p
    if x >= p:
        raise PrecompileError(f"{curve.name}_decompress: x is not a field element")
    y = _sqrt_3mod4((x * x * x + curve.a * x + curve.b) % p, p)
    if y is None:
        raise PrecompileError(f"{curve.name}_decompress: x is not on the curve")
    if curve is BLS12381:
        if (y > p - y) != bool(sign):
            y = (p - y) % p
    elif (y & 1) != sign:
        y = (p - y) % p
    return _to_le(y, n) + buf[n:]


def secp256k1_decompress(buf: bytes, sign: int) -> bytes:
    return weierstrass_decompress(SECP256K1, buf, sign)


def secp256r1_decompress(buf: bytes, sign: int) -> bytes:
    return weierstrass_decompress(SECP256R1, buf, sign)


def bls12381_decompress(buf: bytes, sign: int) -> bytes:
    return weierstrass_decompress(BLS12381, buf, sign)


# --------------------------------------------------------------------------- ed25519
# prover-backends.md §5.3 ED_ADD / ED_DECOMPRESS (twisted Edwards, a = -1).

ED25519_P = 2**255 - 19
ED25519_D = -121665 * pow(121666, -1, ED25519_P) % ED25519_P
_ED_SQRT_M1 = pow(2, (ED25519_P - 1) // 4, ED25519_P)


def ed25519_add(p: bytes, q: bytes) -> bytes:
    """P + Q on ed25519 (x ‖ y, 32 B LE each); complete for points on the curve."""
    m = ED25519_P
    _need(p, 64, "ed_add P")
    _need(q, 64, "ed_add Q")
    x1, y1, x2, y2 = _le(p[:32]), _le(p[32:]), _le(q[:32]), _le(q[32:])
    dxy = ED25519_D * x1 * x2 % m * y1 * y2 % m
    dx, dy = (1 + dxy) % m, (1 - dxy) % m
    if dx == 0 or dy == 0:  # impossible for valid points (d is a non-square)
        raise PrecompileError("ed_add: exceptional (invalid) points")
    inv = pow(dx * dy, -1, m)
    x3 = (x1 * y2 + y1 * x2) * dy % m * inv % m
    y3 = (y1 * y2 + x1 * x2) * dx % m * inv % m
    return _to_le(x3, 32) + _to_le(y3, 32)


def ed_decompress(buf: bytes, sign: int) -> bytes:
    """ED_DECOMPRESS: y in bytes [32, 64) (bit 255 ignored), x written to [0, 32).

    SP1's `ed25519::decompress`: u = y^2 - 1, v = d y^2 + 1, x = sqrt(u / v) taken
    with an even low bit, then x = p - x if sign (so x = 0 with sign 1 yields p,
    exactly as SP1 writes it). Raises where SP1 panics: y >= p, y == 0 (BigUint
    underflow in `y^2 - 1`), or u / v not a square.
    """
    _need(buf, 64, "ed_decompress buffer")
    if sign not in (0, 1):
        raise PrecompileError("ed_decompress: sign must be 0 or 1")
    m = ED25519_P
    y = _le(buf[32:]) & ((1 << 255) - 1)
    if y >= m or y == 0:
        raise PrecompileError("ed_decompress: y is not a valid field element")
    yy = y * y % m
    uv = (yy - 1) * pow(ED25519_D * yy + 1, -1, m) % m
    beta = pow(uv, (m + 3) // 8, m)
    b2 = beta * beta % m
    if b2 == (-uv) % m:
        beta = beta * _ED_SQRT_M1 % m
    elif b2 != uv:
        raise PrecompileError("ed_decompress: not a square (invalid point)")
    if beta & 1:
        beta = m - beta
    x = m - beta if sign else beta
    return _to_le(x, 32) + buf[32:]


# --------------------------------------------------------------------------- big integers
# prover-backends.md §5.3 UINT256_MUL, UINT256_ADD_CARRY / MUL_CARRY, U256XU2048_MUL.

_2_256 = 1 << 256


def uint256_mul(x: bytes, y: bytes, modulus: bytes) -> bytes:
    """x * y mod m (32 B LE each); m == 0 means 2^256."""
    for b, what in ((x, "x"), (y, "y"), (modulus, "modulus")):
        _need(b, 32, f"uint256_mul {what}")
    m = _le(modulus) or _2_256
    return _to_le(_le(x) * _le(y) % m, 32)


def _uint256_mul_syscall(x: bytes, y_and_modulus: bytes) -> bytes:
    """UINT256_MUL as laid out: a1 points at y immediately followed by the modulus."""
    _need(y_and_modulus, 64, "uint256_mul y‖modulus")
    return uint256_mul(x, y_and_modulus[:32], y_and_modulus[32:])


def _carry_split(v: int) -> tuple[bytes, bytes]:
    return _to_le(v & (_2_256 - 1), 32), _to_le(v >> 256, 32)


def uint256_add_carry(a: bytes, b: bytes, c: bytes) -> tuple[bytes, bytes]:
    """v6: (d, e) = low / high 256 bits of a + b + c (4 LE u64 limbs each; e <= 2)."""
    for v, what in ((a, "a"), (b, "b"), (c, "c")):
        _need(v, 32, f"uint256_add_carry {what}")
    return _carry_split(_le(a) + _le(b) + _le(c))


def uint256_mul_carry(a: bytes, b: bytes, c: bytes) -> tuple[bytes, bytes]:
    """v6: (d, e) = low / high 256 bits of a * b + c (4 LE u64 limbs each)."""
    for v, what in ((a, "a"), (b, "b"), (c, "c")):
        _need(v, 32, f"uint256_mul_carry {what}")
    return _carry_split(_le(a) * _le(b) + _le(c))


def u256x2048_mul(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    """v5: a (256-bit) * b (2048-bit) -> (lo 2048 bits, hi 256 bits), LE."""
    _need(a, 32, "u256x2048_mul a")
    _need(b, 256, "u256x2048_mul b")
    v = _le(a) * _le(b)
    return _to_le(v & ((1 << 2048) - 1), 256), _to_le(v >> 2048, 32)


# --------------------------------------------------------------------------- field towers
# prover-backends.md §5.3 BLS12381_FP*/FP2*, BN254_FP*/FP2*: x <- x ∘ y mod p in place.

FP_ADD, FP_SUB, FP_MUL = "add", "sub", "mul"


def fp_op(curve: WeierstrassCurve, op: str, x: bytes, y: bytes) -> bytes:
    """Base-field add/sub/mul of two `curve.size`-byte LE elements (inputs reduced)."""
    n, m = curve.size, curve.p
    _need(x, n, f"{curve.name} fp x")
    _need(y, n, f"{curve.name} fp y")
    a, b = _le(x), _le(y)
    if op == FP_ADD:
        r = (a + b) % m
    elif op == FP_SUB:
        r = (a - b) % m
    elif op == FP_MUL:
        r = a * b % m
    else:
        raise ValueError(f"unknown field op {op!r}")
    return _to_le(r, n)


def fp2_op(curve: WeierstrassCurve, op: str, x: bytes, y: bytes) -> bytes:
    """Fp2 = Fp[u]/(u^2 + 1) add/sub/mul; elements are c0 ‖ c1, each `curve.size` bytes."""
    n, m = curve.size, curve.p
    _need(x, 2 * n, f"{curve.name} fp2 x")
    _need(y, 2 * n, f"{curve.name} fp2 y")
    a0, a1, b0, b1 = _le(x[:n]), _le(x[n:]), _le(y[:n]), _le(y[n:])
    if op == FP_ADD:
        c0, c1 = a0 + b0, a1 + b1
    elif op == FP_SUB:
        c0, c1 = a0 - b0, a1 - b1
    elif op == FP_MUL:
        c0, c1 = a0 * b0 - a1 * b1, a0 * b1 + a1 * b0
    else:
        raise ValueError(f"unknown field op {op!r}")
    return _to_le(c0 % m, n) + _to_le(c1 % m, n)


def _fp(curve: WeierstrassCurve, op: str) -> Callable[[bytes, bytes], bytes]:
    def f(x: bytes, y: bytes) -> bytes:
        return fp_op(curve, op, x, y)

    f.__name__ = f"{curve.name}_fp_{op}"
    return f


def _fp2(curve: WeierstrassCurve, op: str) -> Callable[[bytes, bytes], bytes]:
    def f(x: bytes, y: bytes) -> bytes:
        return fp2_op(curve, op, x, y)

    f.__name__ = f"{curve.name}_fp2_{op}"
    return f


bls12381_fp_add, bls12381_fp_sub, bls12381_fp_mul = (_fp(BLS12381, o) for o in (FP_ADD, FP_SUB, FP_MUL))
bls12381_fp2_add, bls12381_fp2_sub, bls12381_fp2_mul = (_fp2(BLS12381, o) for o in (FP_ADD, FP_SUB, FP_MUL))
bn254_fp_add, bn254_fp_sub, bn254_fp_mul = (_fp(BN254, o) for o in (FP_ADD, FP_SUB, FP_MUL))
bn254_fp2_add, bn254_fp2_sub, bn254_fp2_mul = (_fp2(BN254, o) for o in (FP_ADD, FP_SUB, FP_MUL))


# --------------------------------------------------------------------------- Poseidon2
# prover-backends.md §5.3 POSEIDON2 (v6): 16 LE u32 canonical KoalaBear values in place.


def poseidon2_permute(state: bytes) -> bytes:
    """SP1 v6 KoalaBear width-16 Poseidon2 (see poseidon2.py). Non-canonical lanes raise."""
    _need(state, 64, "poseidon2 state")
    vals = struct.unpack("<16I", state)
    for lane, v in enumerate(vals):
        if v >= _poseidon2.P:
            raise PrecompileError(f"poseidon2: lane {lane} = {v} is not canonical KoalaBear")
    return struct.pack("<16I", *_poseidon2.permute(vals))


# --------------------------------------------------------------------------- dispatch table

Sizes = tuple[int, int]  # (v5 bytes, v6 bytes)
Result = bytes | tuple[bytes, ...]


@dataclass(frozen=True)
class Arg:
    """A pointer argument: register name and buffer size in bytes per version."""

    reg: str  # "a0".."a4" (x10..x14)
    size: Sizes

    def size_for(self, version: int) -> int:
        return self.size[0] if version == 5 else self.size[1]


@dataclass(frozen=True)
class PrecompileSpec:
    """How the executor runs one precompile syscall (prover-backends.md §5.2/§5.3).

    Read each `reads` buffer (in order), append the integer value of each `scalars`
    register, call `fn` (plus `slot_bytes=4|8` when `slot_words`), then write the
    returned buffer(s) to `writes` in order. `zero_regs` must hold 0.
    """

    name: str
    code: int
    versions: frozenset[int]
    fn: Callable[..., Result]
    reads: tuple[Arg, ...]
    writes: tuple[Arg, ...]
    scalars: tuple[str, ...] = ()
    zero_regs: tuple[str, ...] = ()
    slot_words: bool = False  # SHA: u32 words, in u64 slots on v6


V5, V6, BOTH = frozenset({5}), frozenset({6}), frozenset({5, 6})


def _same(n: int) -> Sizes:
    return (n, n)


def _spec(name: str, code: int, versions: frozenset[int], fn: Callable[..., Result],
          reads: list[tuple[str, Sizes]], writes: list[tuple[str, Sizes]],
          **kw: object) -> PrecompileSpec:  # fmt: skip
    return PrecompileSpec(
        name, code, versions, fn,
        tuple(Arg(r, s) for r, s in reads), tuple(Arg(r, s) for r, s in writes), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _build_table() -> dict[int, PrecompileSpec]:
    specs: list[PrecompileSpec] = [
        _spec("SHA_EXTEND", 0x00300105, BOTH, sha_extend, [("a0", (256, 512))], [("a0", (256, 512))],
              zero_regs=("a1",), slot_words=True),
        _spec("SHA_COMPRESS", 0x00010106, BOTH, sha_compress,
              [("a0", (256, 512)), ("a1", (32, 64))], [("a1", (32, 64))], slot_words=True),
        _spec("ED_ADD", 0x00010107, BOTH, ed25519_add, [("a0", _same(64)), ("a1", _same(64))],
              [("a0", _same(64))]),
        _spec("ED_DECOMPRESS", 0x00000108, BOTH, ed_decompress, [("a0", _same(64))],
              [("a0", _same(64))], scalars=("a1",)),
        _spec("KECCAK_PERMUTE", 0x00010109, BOTH, keccak_permute, [("a0", _same(200))],
              [("a0", _same(200))]),
        _spec("UINT256_MUL", 0x0001011D, BOTH, _uint256_mul_syscall,
              [("a0", _same(32)), ("a1", _same(64))], [("a0", _same(32))]),
        _spec("U256XU2048_MUL", 0x0001012F, V5, u256x2048_mul,
              [("a0", _same(32)), ("a1", _same(256))], [("a2", _same(256)), ("a3", _same(32))]),
        _spec("UINT256_ADD_CARRY", 0x00010130, V6, uint256_add_carry,
              [("a0", _same(32)), ("a1", _same(32)), ("a2", _same(32))],
              [("a3", _same(32)), ("a4", _same(32))]),
        _spec("UINT256_MUL_CARRY", 0x00010131, V6, uint256_mul_carry,
              [("a0", _same(32)), ("a1", _same(32)), ("a2", _same(32))],
              [("a3", _same(32)), ("a4", _same(32))]),
        _spec("POSEIDON2", 0x00000133, V6, poseidon2_permute, [("a0", _same(64))],
              [("a0", _same(64))]),
    ]  # fmt: skip
    curves = (
        ("SECP256K1", SECP256K1, 0x0001010A, 0x0000010B, 0x0000010C),
        ("BN254", BN254, 0x0001010E, 0x0000010F, None),
        ("BLS12381", BLS12381, 0x0001011E, 0x0000011F, 0x0000011C),
        ("SECP256R1", SECP256R1, 0x0001012C, 0x0000012D, 0x0000012E),
    )
    for name, curve, add, dbl, dec in curves:
        pt = _same(2 * curve.size)
        specs.append(_spec(f"{name}_ADD", add, BOTH, _bind(weierstrass_add, curve),
                           [("a0", pt), ("a1", pt)], [("a0", pt)]))  # fmt: skip
        specs.append(_spec(f"{name}_DOUBLE", dbl, BOTH, _bind(weierstrass_double, curve),
                           [("a0", pt)], [("a0", pt)]))  # fmt: skip
        if dec is not None:  # v6 executors panic "deprecated"
            specs.append(_spec(f"{name}_DECOMPRESS", dec, V5, _bind(weierstrass_decompress, curve),
                               [("a0", pt)], [("a0", pt)], scalars=("a1",)))  # fmt: skip
    fields = (("BLS12381", BLS12381, 0x00010120), ("BN254", BN254, 0x00010126))
    for name, curve, base in fields:
        for i, op in enumerate((FP_ADD, FP_SUB, FP_MUL)):
            one, two = _same(curve.size), _same(2 * curve.size)
            specs.append(_spec(f"{name}_FP_{op.upper()}", base + i, BOTH, _fp(curve, op),
                               [("a0", one), ("a1", one)], [("a0", one)]))  # fmt: skip
            specs.append(_spec(f"{name}_FP2_{op.upper()}", base + 3 + i, BOTH, _fp2(curve, op),
                               [("a0", two), ("a1", two)], [("a0", two)]))  # fmt: skip
    return {s.code: s for s in specs}


def _bind(f: Callable[..., bytes], curve: WeierstrassCurve) -> Callable[..., bytes]:
    def g(*args: object) -> bytes:
        return f(curve, *args)

    g.__name__ = f"{curve.name}_{f.__name__}"
    return g


PRECOMPILES: dict[int, PrecompileSpec] = _build_table()
PRECOMPILES_BY_NAME: dict[str, PrecompileSpec] = {s.name: s for s in PRECOMPILES.values()}


def run_precompile(
    code: int,
    version: int,
    regs: Callable[[str], int],
    read_mem: Callable[[int, int], bytes],
    write_mem: Callable[[int, bytes], None],
) -> None:
    """Execute precompile `code` for SP1 `version` (5 or 6) against guest memory.

    `regs(name)` returns a register value ("a0".."a4"); `read_mem(addr, n)` and
    `write_mem(addr, data)` access guest memory. Pointers must be 4-aligned (v5) or
    8-aligned (v6). All reads happen before any write (inputs may alias outputs).
    """
    spec = PRECOMPILES.get(code)
    if spec is None:
        raise PrecompileError(f"not a precompile syscall: {code:#010x}")
    if version not in spec.versions:
        raise PrecompileError(f"{spec.name} is not supported by SP1 v{version}")
    align = 4 if version == 5 else 8
    for r in spec.zero_regs:
        if regs(r) != 0:
            raise PrecompileError(f"{spec.name}: {r} must be 0")
    args: list[object] = []
    for a in spec.reads:
        ptr = regs(a.reg)
        if ptr % align:
            raise PrecompileError(f"{spec.name}: {a.reg} = {ptr:#x} is not {align}-byte aligned")
        args.append(read_mem(ptr, a.size_for(version)))
    args.extend(regs(r) for r in spec.scalars)
    kwargs = {"slot_bytes": 4 if version == 5 else 8} if spec.slot_words else {}
    result = spec.fn(*args, **kwargs)
    outs = result if isinstance(result, tuple) else (result,)
    for a, data in zip(spec.writes, outs, strict=True):
        ptr = regs(a.reg)
        if ptr % align:
            raise PrecompileError(f"{spec.name}: {a.reg} = {ptr:#x} is not {align}-byte aligned")
        write_mem(ptr, data)
