"""SP1's gnark verifying keys: the package-data files, their parsing, and the circuit table.

Owns ``network_lib/verifier/vk/<circuit version>/{groth16,plonk}_vk.bin`` (copies of SP1's
published keys) and the per-version constants (vk root, public-input count). sha256 of a key
file is the proof's ``*_vkey_hash``; its first 4 bytes prefix the on-chain proof bytes and
select the key. Parsed keys are cached per process; pure, safe on any thread.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cache
from importlib import resources

from network_lib import versions
from network_lib.verifier.curve import G1Point, G2Point, R, g1_compressed, g2_compressed

GROTH16 = "groth16"
PLONK = "plonk"

# Issue 10 "The rules": the recursion vk root each v6 circuit version commits to.
VK_ROOTS: dict[str, int] = {
    versions.V6_0_0: 0x008CD56E10C2FE24795CFF1E1D1F40D3A324528D315674DA45D26AFB376E8670,
    versions.V6_1_0: 0x002F850EE998974D6CC00E50CD0814B098C05BFADE466D28573240D057F25352,
}

# gnark's KZG verifying key carries precomputed pairing lines for [G₂, [α]G₂] after the
# two G2 points (sp1 crates/verifier plonk converter skips the same span); we recompute them.
_KZG_LINES_LEN = 33788


class VerifyingKeyError(ValueError):
    """A verifying key file does not parse."""


@dataclass(frozen=True)
class Groth16Key:
    alpha: G1Point
    beta: G2Point
    gamma: G2Point
    delta: G2Point
    k: tuple[G1Point, ...]  # K[0] + Σ input_i·K[i+1]


@dataclass(frozen=True)
class PlonkKey:
    size: int
    size_inv: int
    generator: int
    nb_public: int
    coset_shift: int
    s: tuple[G1Point, G1Point, G1Point]
    ql: G1Point
    qr: G1Point
    qm: G1Point
    qo: G1Point
    qk: G1Point
    qcp: tuple[G1Point, ...]
    kzg_g1: G1Point
    kzg_g2: tuple[G2Point, G2Point]  # [G₂, [α]G₂]
    commitment_indexes: tuple[int, ...]


@dataclass(frozen=True)
class CircuitKey:
    """One (circuit version, mode) key: the file's sha256, its 4-byte prefix and the key."""

    circuit_version: str
    mode: str
    vkey_hash: bytes
    key: Groth16Key | PlonkKey

    @property
    def prefix(self) -> bytes:
        return self.vkey_hash[:4]

    @property
    def vk_root(self) -> int | None:
        return VK_ROOTS.get(self.circuit_version)

    @property
    def n_public(self) -> int:
        return versions.plonk_public_inputs_count(self.circuit_version)


def _fr(b: bytes, what: str) -> int:
    v = int.from_bytes(b, "big")
    if v >= R:
        raise VerifyingKeyError(f"{what} is not a field element")
    return v


def parse_groth16(data: bytes) -> Groth16Key:
    """gnark ``groth16.VerifyingKey.WriteTo`` (compressed): α₁, β₁, β₂, γ₂, δ₁, δ₂, K."""
    if len(data) < 292:
        raise VerifyingKeyError(f"Groth16 vk is {len(data)} bytes, too short")
    (n,) = struct.unpack_from(">I", data, 288)
    end = 292 + 32 * n
    # Then PublicAndCommitmentCommitted (u32 count) and the commitment keys (u32 count):
    # SP1's circuits have none, and the on-chain body (256 bytes) has no room for them.
    if data[end:] != bytes(8):
        raise VerifyingKeyError("Groth16 vk with Pedersen commitments is not supported")
    return Groth16Key(
        alpha=g1_compressed(data[0:32], "vk alpha"),
        beta=g2_compressed(data[64:128], "vk beta"),
        gamma=g2_compressed(data[128:192], "vk gamma"),
        delta=g2_compressed(data[224:288], "vk delta"),
        k=tuple(g1_compressed(data[292 + 32 * i:324 + 32 * i], f"vk K[{i}]") for i in range(n)),
    )


def parse_plonk(data: bytes) -> PlonkKey:
    """gnark ``plonk.VerifyingKey.WriteTo`` (compressed), as SP1 ships it."""
    if len(data) < 372:
        raise VerifyingKeyError(f"Plonk vk is {len(data)} bytes, too short")
    g1 = {name: g1_compressed(data[o:o + 32], f"vk {name}")
          for name, o in (("s0", 112), ("s1", 144), ("s2", 176), ("ql", 208), ("qr", 240),
                          ("qm", 272), ("qo", 304), ("qk", 336))}
    (nqcp,) = struct.unpack_from(">I", data, 368)
    off = 372
    qcp = tuple(g1_compressed(data[off + 32 * i:off + 32 * i + 32], f"vk qcp[{i}]")
                for i in range(nqcp))
    off += 32 * nqcp
    kzg_g1 = g1_compressed(data[off:off + 32], "vk kzg G1")
    kzg_g2 = (g2_compressed(data[off + 32:off + 96], "vk kzg G2[0]"),
              g2_compressed(data[off + 96:off + 160], "vk kzg G2[1]"))
    off += 160 + _KZG_LINES_LEN
    if len(data) < off + 8:
        raise VerifyingKeyError("Plonk vk ends before its commitment constraint indexes")
    (nidx,) = struct.unpack_from(">Q", data, off)
    if len(data) != off + 8 + 8 * nidx or nidx != nqcp:
        raise VerifyingKeyError("Plonk vk commitment constraint indexes do not match its length")
    idx = struct.unpack_from(f">{nidx}Q", data, off + 8)
    return PlonkKey(
        size=struct.unpack_from(">Q", data, 0)[0],
        size_inv=_fr(data[8:40], "vk size_inv"),
        generator=_fr(data[40:72], "vk generator"),
        nb_public=struct.unpack_from(">Q", data, 72)[0],
        coset_shift=_fr(data[80:112], "vk coset_shift"),
        s=(g1["s0"], g1["s1"], g1["s2"]), ql=g1["ql"], qr=g1["qr"], qm=g1["qm"],
        qo=g1["qo"], qk=g1["qk"], qcp=qcp, kzg_g1=kzg_g1, kzg_g2=kzg_g2,
        commitment_indexes=tuple(idx),
    )


def vk_file(circuit_version: str, mode: str) -> bytes:
    """The shipped key file's bytes."""
    versions.check_circuit_version(circuit_version)
    ref = resources.files("network_lib.verifier") / "vk" / circuit_version / f"{mode}_vk.bin"
    return ref.read_bytes()


@cache
def circuit_key(circuit_version: str, mode: str) -> CircuitKey:
    data = vk_file(circuit_version, mode)
    key = parse_groth16(data) if mode == GROTH16 else parse_plonk(data)
    return CircuitKey(circuit_version, mode, hashlib.sha256(data).digest(), key)


def all_keys() -> tuple[CircuitKey, ...]:
    return tuple(circuit_key(v, m) for v in versions.CIRCUIT_VERSIONS for m in (GROTH16, PLONK))


def key_for_prefix(prefix: bytes) -> CircuitKey | None:
    """The key whose sha256 starts with these 4 bytes, or None."""
    return next((k for k in all_keys() if k.prefix == bytes(prefix)), None)
