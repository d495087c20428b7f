"""Poseidon2 over KoalaBear, width 16, as SP1 v6's POSEIDON2 syscall computes it.

prover-backends.md §5.3 (POSEIDON2, 0x00000133): a0 points at 16 LE u32 canonical
KoalaBear values, permuted in place.

The instance is SP1's `slop_koala_bear::my_kb_16_perm()` (used by the v6 executor
via `inner_perm()`), restated here from the public sources:

- field p = 2^31 - 2^24 + 1, S-box x^3, 8 full rounds (4 + 4) and 20 partial rounds;
- round constants: the 28-row `RC16` table of `slop/crates/koala-bear/src/
  koala_bear_poseidon2.rs` (rows 0..4 initial full, column 0 of rows 4..24 partial,
  rows 24..28 final full). They equal Plonky3's KOALABEAR_RC16_* tables;
- external layer `Poseidon2ExternalMatrixGeneral`: M4 = circ-like [[2,3,1,1],[1,2,3,1],
  [1,1,2,3],[3,1,1,2]] on each 4-lane block, then every lane adds the sum of the lanes
  with the same index mod 4;
- internal layer `DiffusionMatrixKoalaBear` (the OLD Plonky3 API, not today's
  `Poseidon2KoalaBear`): out[i] = R^-1 * (sum(state) + D[i] * state[i]) with
  R = 2^32 (Montgomery radix) and D = [-2, 2^0, 2^1, ..., 2^13, 2^15];
- order: external layer; 4 x (add rc, S-box, external); 20 x (state[0] += rc,
  S-box on lane 0, internal); 4 x (add rc, S-box, external).

The structure is checked against the published Plonky3 vector for the same
`Poseidon2<KoalaBear, Poseidon2ExternalMatrixGeneral, DiffusionMatrixKoalaBear>`
type (tests/unit/test_precompiles.py).
"""

from __future__ import annotations

from collections.abc import Sequence

P = 0x7F000001
WIDTH = 16
MONTY_INVERSE = pow(1 << 32, -1, P)  # R^-1, canonical 1057030144

# D[i] for i >= 1 as shifts; D[0] = -2.
_INTERNAL_SHIFTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15)
# R^-1 * D[i], precomputed so the internal layer is one multiply per lane.
_DIAG_SCALED = tuple(
    [(P - 2) * MONTY_INVERSE % P] + [(1 << s) * MONTY_INVERSE % P for s in _INTERNAL_SHIFTS]
)

# fmt: off
_RC_INITIAL = (
    (0x7ee56a48, 0x11367045, 0x12e41941, 0x7ebbc12b, 0x1970b7d5, 0x662b60e8, 0x3e4990c6, 0x679f91f5,
     0x350813bb, 0x00874ad4, 0x28a0081a, 0x18fa5872, 0x5f25b071, 0x5e5d5998, 0x5e6fd3e7, 0x5b2e2660),
    (0x6f1837bf, 0x3fe6182b, 0x1edd7ac5, 0x57470d00, 0x43d486d5, 0x1982c70f, 0x0ea53af9, 0x61d6165b,
     0x51639c00, 0x2dec352c, 0x2950e531, 0x2d2cb947, 0x08256cef, 0x1a0109f6, 0x1f51faf3, 0x5cef1c62),
    (0x3d65e50e, 0x33d91626, 0x133d5a1e, 0x0ff49b0d, 0x38900cd1, 0x2c22cc3f, 0x28852bb2, 0x06c65a02,
     0x7b2cf7bc, 0x68016e1a, 0x15e16bc0, 0x5248149a, 0x6dd212a0, 0x18d6830a, 0x5001be82, 0x64dac34e),
    (0x5902b287, 0x426583a0, 0x0c921632, 0x3fe028a5, 0x245f8e49, 0x43bb297e, 0x7873dbd9, 0x3cc987df,
     0x286bb4ce, 0x640a8dcd, 0x512a8e36, 0x03a4cf55, 0x481837a2, 0x03d6da84, 0x73726ac7, 0x760e7fdf),
)
_RC_PARTIAL = (
    0x54dfeb5d, 0x7d40afd6, 0x722cb316, 0x106a4573, 0x45a7ccdb, 0x44061375, 0x154077a5, 0x45744faa,
    0x4eb5e5ee, 0x3794e83f, 0x47c7093c, 0x5694903c, 0x69cb6299, 0x373df84c, 0x46a0df58, 0x46b8758a,
    0x3241ebcb, 0x0b09d233, 0x1af42357, 0x1e66cec2,
)
_RC_FINAL = (
    (0x43e7dc24, 0x259a5d61, 0x27e85a3b, 0x1b9133fa, 0x343e5628, 0x485cd4c2, 0x16e269f5, 0x165b60c6,
     0x25f683d9, 0x124f81f9, 0x174331f9, 0x77344dc5, 0x5a821dba, 0x5fc4177f, 0x54153bf5, 0x5e3f1194),
    (0x3bdbf191, 0x088c84a3, 0x68256c9b, 0x3c90bbc6, 0x6846166a, 0x03f4238d, 0x463335fb, 0x5e3d3551,
     0x6e59ae6f, 0x32d06cc0, 0x596293f3, 0x6c87edb2, 0x08fc60b5, 0x34bcca80, 0x24f007f3, 0x62731c6f),
    (0x1e1db6c6, 0x0ca409bb, 0x585c1e78, 0x56e94edc, 0x16d22734, 0x18e11467, 0x7b2c3730, 0x770075e4,
     0x35d1b18c, 0x22be3db5, 0x4fb1fbb7, 0x477cb3ed, 0x7d5311c6, 0x5b62ae7d, 0x559c5fa8, 0x77f15048),
    (0x3211570b, 0x490fef6a, 0x77ec311f, 0x2247171b, 0x4e0ac711, 0x2edf69c9, 0x3b5a8850, 0x65809421,
     0x5619b4aa, 0x362019a7, 0x6bf9d4ed, 0x5b413dff, 0x617e181e, 0x5e7ab57b, 0x33ad7833, 0x3466c7ca),
)
# fmt: on


def external_layer(s: list[int]) -> list[int]:
    """`Poseidon2ExternalMatrixGeneral`: M4 per 4-lane block, then add column sums."""
    out = [0] * WIDTH
    for j in range(0, WIDTH, 4):
        x0, x1, x2, x3 = s[j], s[j + 1], s[j + 2], s[j + 3]
        t01 = x0 + x1
        t23 = x2 + x3
        t0123 = t01 + t23
        t01123 = t0123 + x1
        t01233 = t0123 + x3
        out[j] = t01123 + t01  # 2x0 + 3x1 + x2 + x3
        out[j + 1] = t01123 + 2 * x2  # x0 + 2x1 + 3x2 + x3
        out[j + 2] = t01233 + t23  # x0 + x1 + 2x2 + 3x3
        out[j + 3] = t01233 + 2 * x0  # 3x0 + x1 + x2 + 2x3
    c0 = out[0] + out[4] + out[8] + out[12]
    c1 = out[1] + out[5] + out[9] + out[13]
    c2 = out[2] + out[6] + out[10] + out[14]
    c3 = out[3] + out[7] + out[11] + out[15]
    cols = (c0, c1, c2, c3)
    return [(v + cols[i & 3]) % P for i, v in enumerate(out)]


def internal_layer(s: list[int]) -> list[int]:
    """`DiffusionMatrixKoalaBear`: R^-1 * (J + diag(D)) with R^-1 folded in."""
    total = sum(s) * MONTY_INVERSE
    return [(total + d * v) % P for d, v in zip(_DIAG_SCALED, s)]


class Poseidon2:
    """Old-API Plonky3 `Poseidon2<F, ExternalMatrixGeneral, DiffusionMatrixKoalaBear, 16, D>`."""

    def __init__(
        self,
        initial: Sequence[Sequence[int]],
        partial: Sequence[int],
        final: Sequence[Sequence[int]],
        degree: int,
    ) -> None:
        self.initial = tuple(tuple(r) for r in initial)
        self.partial = tuple(partial)
        self.final = tuple(tuple(r) for r in final)
        self.degree = degree

    def _full_round(self, s: list[int], rc: Sequence[int]) -> list[int]:
        d = self.degree
        return external_layer([pow(v + c, d, P) for v, c in zip(s, rc)])

    def permute(self, state: Sequence[int]) -> list[int]:
        """Permute 16 field elements (reduced mod p on entry)."""
        if len(state) != WIDTH:
            raise ValueError(f"Poseidon2 state needs {WIDTH} elements")
        s = external_layer([v % P for v in state])
        for rc in self.initial:
            s = self._full_round(s, rc)
        d = self.degree
        for c in self.partial:
            s[0] = pow(s[0] + c, d, P)
            s = internal_layer(s)
        for rc in self.final:
            s = self._full_round(s, rc)
        return s


# SP1 v6 `inner_perm()` / `my_kb_16_perm()`.
SP1_KOALABEAR_16 = Poseidon2(_RC_INITIAL, _RC_PARTIAL, _RC_FINAL, degree=3)


def permute(state: Sequence[int]) -> list[int]:
    """SP1's KoalaBear width-16 Poseidon2 permutation on canonical values."""
    return SP1_KOALABEAR_16.permute(state)
