"""Groth16 and Plonk verification time per BN254 candidate, side by side (issue 10).

Run: .venv/bin/python bench/verify_bench.py [--iterations N]

Each candidate must first *qualify*: the real v6.0.0 fixture proofs in
../shared/fixtures/proofs verify with it and a tampered one does not (several "BN254"
libraries implement another curve). py_ecc is the pure-Python reference; the figures are
milliseconds per full verification (parsing, public-input rules, MSM and pairings) and the
speed-up against py_ecc. Targets: Groth16 < 20 ms, Plonk < 50 ms. Candidates that are not
installed are listed with the pip name to try them (``pip install groth16py mclbn256``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_lib.verifier import verify_onchain
from network_lib.verifier.backends import PyEccBackend, RevmBackend
from network_lib.verifier.inputs import pv_digests
from network_lib.verifier.keys import circuit_key

PROOFS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "proofs"
TARGET_MS = {"groth16": 20.0, "plonk": 50.0}


def fixture(mode: str) -> dict:
    return json.loads((PROOFS / f"template-fibonacci-{mode}-v6.0.0.json").read_text())


def tampered(t: dict) -> dict:
    pv = t["publicValues"]
    return {**t, "publicValues": pv[:-1] + ("0" if pv[-1] != "0" else "1")}


def timed(fn, iterations: int) -> float:
    fn()  # warm caches (key parsing, imports)
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


# --- candidates: each returns {mode: ms | "reason it does not apply"} ----------------------


def backend_candidate(backend, iterations: int) -> dict:
    out = {}
    for mode in ("groth16", "plonk"):
        t = fixture(mode)

        def run(t=t):
            return verify_onchain(t["vkey"], t["publicValues"], t["proof"], backend=backend)

        bad = tampered(t)
        if not run().valid or verify_onchain(bad["vkey"], bad["publicValues"], bad["proof"],
                                             backend=backend).valid:
            out[mode] = "DISQUALIFIED: the fixture does not verify / the tampered one does"
            continue
        out[mode] = timed(run, iterations)
    return out


def groth16py_candidate(iterations: int) -> dict:
    import groth16py  # arkworks-backed; a Groth16-only API

    k = circuit_key("v6.0.0", "groth16").key

    def g1(p):
        return [str(p[0]), str(p[1]), "1"]

    def g2(q):
        return [[str(q[0][0]), str(q[0][1])], [str(q[1][0]), str(q[1][1])], ["1", "0"]]

    vk = {"protocol": "groth16", "curve": "bn128", "nPublic": len(k.k) - 1,
          "vk_alpha_1": g1(k.alpha), "vk_beta_2": g2(k.beta), "vk_gamma_2": g2(k.gamma),
          "vk_delta_2": g2(k.delta), "IC": [g1(p) for p in k.k]}
    verifier = groth16py.Verifier(groth16py.VerifyingKey.from_snarkjs(json.dumps(vk)))
    t = fixture("groth16")
    proof = bytes.fromhex(t["proof"][2:])

    def run(pv_hex=t["publicValues"]):
        # The same public-input rules as ours, then the library's pairing check.
        meta = [int.from_bytes(proof[4 + 32 * i:36 + 32 * i], "big") for i in range(3)]
        digest = pv_digests(bytes.fromhex(pv_hex[2:]))[0]
        return verifier.verify(proof[100:], [int(t["vkey"], 16), digest, *meta])

    if not run() or run(tampered(t)["publicValues"]):
        return {"groth16": "DISQUALIFIED", "plonk": "n/a"}
    return {"groth16": timed(run, iterations), "plonk": "n/a: Groth16-only API"}


def mclbn256_candidate(iterations: int) -> dict:
    import mclbn256

    # alt_bn128's G1 generator (1, 2): y² = x³ + 3. mcl's default BN254 is another curve.
    try:
        on_curve = mclbn256.G1().fromstr(b"1 1 2", 10).valid()
    except ValueError:  # mcl refuses to set a point that is not on its curve
        on_curve = False
    if not on_curve:
        why = "DISQUALIFIED: its BN254 is not alt_bn128 ((1, 2) is not on its curve)"
        return {"groth16": why, "plonk": why}
    return {"groth16": "qualifies on the generator; not wired", "plonk": "not wired"}


def ark_algebra_candidate(iterations: int) -> dict:
    import ark_algebra_py

    # Its G1() is the generator; alt_bn128's is (1, 2).
    x = int(str(ark_algebra_py.G1()).strip("()").split(",")[0])
    why = f"DISQUALIFIED: another curve (G1 generator x has {x.bit_length()} bits)"
    if x == 1:
        why = "qualifies on the generator; not wired"
    return {"groth16": why, "plonk": why}


CANDIDATES = (
    ("py_ecc (reference, pure Python)", "py_ecc",
     lambda n: backend_candidate(PyEccBackend(), max(1, n // 20))),
    ("pyrevm (revm alt_bn128 precompiles)", "pyrevm",
     lambda n: backend_candidate(RevmBackend(), n)),
    ("groth16py (arkworks)", "groth16py", groth16py_candidate),
    ("mclbn256 (mcl)", "mclbn256", mclbn256_candidate),
    ("ark-algebra-py (arkworks)", "ark-algebra-py", ark_algebra_candidate),
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=40)
    args = ap.parse_args()
    if not PROOFS.is_dir():
        print(f"fixtures not found at {PROOFS}")
        return 2
    rows = []
    for label, pip_name, run in CANDIDATES:
        try:
            rows.append((label, run(args.iterations)))
        except ImportError:
            rows.append((label, {m: f"not installed (pip install {pip_name})"
                                 for m in ("groth16", "plonk")}))
    ref = rows[0][1]
    print(f"{'candidate':38} {'Groth16':>28} {'Plonk':>28}")
    for label, res in rows:
        cells = []
        for mode in ("groth16", "plonk"):
            v = res[mode]
            if isinstance(v, float):
                speed = f" x{ref[mode] / v:,.0f}" if isinstance(ref[mode], float) else ""
                ok = "ok" if v < TARGET_MS[mode] else "SLOW"
                cells.append(f"{v:9.2f} ms{speed} {ok}")
            else:
                cells.append(v)
        print(f"{label:38} {cells[0]:>28} {cells[1]:>28}")
    print(f"targets: Groth16 < {TARGET_MS['groth16']:.0f} ms, Plonk < {TARGET_MS['plonk']:.0f} ms "
          "(median of the iterations; x = speed-up over py_ecc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
