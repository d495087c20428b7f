"""The BN254 group law and pairing check, behind one small interface, two implementations.

* :class:`RevmBackend` (the default, chosen by ``bench/verify_bench.py``): Ethereum's
  alt_bn128 precompiles (EIP-196 ``ecAdd``/``ecMul`` at 0x06/0x07, EIP-197 ``ecPairing`` at
  0x08) executed natively by revm through the ``pyrevm`` wheel: the same curve code that
  verifies SP1 proofs on-chain, with EIP-197's G2 subgroup check.
* :class:`PyEccBackend`: pure-Python ``py_ecc`` (reference; ~100× slower), used when
  pyrevm cannot be imported, and by tests to cross-check.

Points are the plain tuples of :mod:`network_lib.verifier.curve`, already checked to be on
the curve. A backend object is used by one thread at a time (each process-pool worker builds
its own); nothing here touches the reactor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from network_lib.verifier.curve import G1Point, G2Point, R, g1_bytes, g2_bytes


class Backend(Protocol):
    name: str

    def g1_add(self, a: G1Point, b: G1Point) -> G1Point: ...

    def g1_mul(self, a: G1Point, k: int) -> G1Point: ...

    def pairing_check(self, pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
        """True when the product of e(p, q) over ``pairs`` is 1 in GT."""
        ...


class BackendError(ValueError):
    """The backend refused its input (for example a G2 point outside the subgroup)."""


def g1_msm(backend: Backend, points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
    """Σ scalars[i]·points[i]."""
    acc: G1Point = None
    for p, k in zip(points, scalars, strict=True):
        k %= R
        if k and p is not None:
            acc = backend.g1_add(acc, p if k == 1 else backend.g1_mul(p, k))
    return acc


def _g1_from(out: bytes) -> G1Point:
    x, y = int.from_bytes(out[:32], "big"), int.from_bytes(out[32:64], "big")
    return None if x == 0 and y == 0 else (x, y)


class RevmBackend:
    name = "pyrevm"
    _CALLER = "0x" + "00" * 19 + "01"
    _ADD = "0x" + "00" * 19 + "06"
    _MUL = "0x" + "00" * 19 + "07"
    _PAIRING = "0x" + "00" * 19 + "08"

    def __init__(self) -> None:
        import pyrevm

        self._evm = pyrevm.EVM()

    def _call(self, to: str, data: bytes, want: int) -> bytes:
        try:
            out = bytes(self._evm.message_call(caller=self._CALLER, to=to, calldata=data))
        except Exception as e:  # noqa: BLE001 - pyrevm raises bare errors for a failed call
            raise BackendError(f"precompile {to[-2:]} refused its input: {e}") from None
        if len(out) != want:
            raise BackendError(f"precompile {to[-2:]} refused its input")
        return out

    def g1_add(self, a: G1Point, b: G1Point) -> G1Point:
        return _g1_from(self._call(self._ADD, g1_bytes(a) + g1_bytes(b), 64))

    def g1_mul(self, a: G1Point, k: int) -> G1Point:
        return _g1_from(self._call(self._MUL, g1_bytes(a) + (k % R).to_bytes(32, "big"), 64))

    def pairing_check(self, pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
        data = b"".join(g1_bytes(p) + g2_bytes(q) for p, q in pairs)
        return self._call(self._PAIRING, data, 32)[-1] == 1


class PyEccBackend:
    name = "py_ecc"

    def __init__(self) -> None:
        from py_ecc import optimized_bn128 as bn

        self._bn = bn
        self._in_subgroup: set = set()   # G2 points already checked (the keys' recur)

    def _p1(self, a: G1Point):
        bn = self._bn
        return bn.Z1 if a is None else (bn.FQ(a[0]), bn.FQ(a[1]), bn.FQ.one())

    def _back(self, p) -> G1Point:
        if self._bn.is_inf(p):
            return None
        x, y = self._bn.normalize(p)
        return (int(x), int(y))

    def g1_add(self, a: G1Point, b: G1Point) -> G1Point:
        return self._back(self._bn.add(self._p1(a), self._p1(b)))

    def g1_mul(self, a: G1Point, k: int) -> G1Point:
        return self._back(self._bn.multiply(self._p1(a), k % R))

    def pairing_check(self, pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
        bn = self._bn
        acc = bn.FQ12.one()
        for p, q in pairs:
            if p is None or q is None:
                continue
            q2 = (bn.FQ2(list(q[0])), bn.FQ2(list(q[1])), bn.FQ2.one())
            if q not in self._in_subgroup:
                if not bn.is_inf(bn.multiply(q2, R)):
                    raise BackendError("G2 point is not in the prime-order subgroup")
                self._in_subgroup.add(q)
            acc = acc * bn.pairing(q2, self._p1(p), final_exponentiate=False)
        return bn.final_exponentiate(acc) == bn.FQ12.one()


_BACKENDS = {"pyrevm": RevmBackend, "py_ecc": PyEccBackend}
_default: Backend | None = None


def get_backend(name: str | None = None) -> Backend:
    """A backend by name, or the process-wide default (pyrevm, else py_ecc)."""
    global _default
    if name is not None:
        return _BACKENDS[name]()
    if _default is None:
        try:
            _default = RevmBackend()
        except ImportError:
            _default = PyEccBackend()
    return _default
