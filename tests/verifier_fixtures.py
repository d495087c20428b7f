"""The real Groth16/Plonk proofs of ../shared/fixtures/proofs, in the forms tests need.

Tests that use them skip when ../shared is absent (``PROOFS.is_dir()``).
"""

from __future__ import annotations

import json
from pathlib import Path

from network_lib.bincode import Writer
from network_lib.verifier.inputs import pv_digests
from network_lib.verifier.keys import circuit_key

PROOFS = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "proofs"
V5_GROTH16 = PROOFS / "sp1-solana-fibonacci-groth16-v5.0.0.bin"
# public_inputs[0] of the v5 file: the program vkey as a decimal BN254 element.
V5_VKEY = 331493227743892986717212156048693650527994499960387967603404045743608775246
TAGS = {"plonk": 2, "groth16": 3}  # SP1Proof enum (prover-backends.md §3.3)


def template(mode: str) -> dict:
    """sp1-project-template's on-chain fixture: vkey, publicValues, proof (hex strings)."""
    return json.loads((PROOFS / f"template-fibonacci-{mode}-v6.0.0.json").read_text())


def snark_file(mode: str, inputs: list[str], encoded: bytes, pv: bytes,
               version: str = "v6.0.0", vkey_hash: bytes | None = None) -> bytes:
    """bincode ProofFromNetwork of a Plonk/Groth16 proof (prover-backends.md §3.4, §3.5)."""
    w = Writer().u32(TAGS[mode])
    for s in inputs:
        w.string(s)
    w.string(encoded.hex()).string("")
    w.raw(vkey_hash if vkey_hash is not None else circuit_key(version, mode).vkey_hash)
    return w.bytes(pv).string(version).getvalue()


def template_file(mode: str, pv: bytes | None = None, vkey: int | None = None) -> bytes:
    """The template fixture wrapped as the ProofFromNetwork a worker would return."""
    t = template(mode)
    onchain = bytes.fromhex(t["proof"][2:])
    real_pv = bytes.fromhex(t["publicValues"][2:])
    meta = [int.from_bytes(onchain[4 + 32 * i:36 + 32 * i], "big") for i in range(3)]
    vk = int(t["vkey"], 16) if vkey is None else vkey
    inputs = [str(vk), str(pv_digests(real_pv)[0]), *map(str, meta)]
    return snark_file(mode, inputs, onchain[4:], real_pv if pv is None else pv)
