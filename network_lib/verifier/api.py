"""The verifier's two entry points: the on-chain form and a bincode proof file.

* :func:`verify_onchain` takes what a Solidity verifier takes: the program ``vkey`` (BN254
  element, 32 bytes), the public values and the proof bytes ``prefix(4) ‖ [exit_code ‖
  vk_root ‖ nonce (v6)] ‖ body``.
* :func:`verify_proof_file` takes bincode ``ProofFromNetwork`` (what ``proof_uri`` serves) or
  ``SP1ProofWithPublicValues`` (what ``proof.save()`` writes) and the request's vk hash.

Both return a :class:`~network_lib.verifier.report.Report`; neither raises for a bad proof.
CPU-bound (one to four pairing checks): the hierophant calls them in a process pool, never
on the reactor.
"""

from __future__ import annotations

from collections.abc import Sequence

from network_lib import versions
from network_lib.bincode import BincodeError, Reader
from network_lib.hexutil import fixed_bytes
from network_lib.verifier import groth16, plonk
from network_lib.verifier.backends import Backend, get_backend
from network_lib.verifier.inputs import (
    nonce_element,
    parse_decimal,
    pv_digests,
    vkey_readings,
)
from network_lib.verifier.keys import (
    GROTH16,
    PLONK,
    CircuitKey,
    all_keys,
    circuit_key,
    key_for_prefix,
)
from network_lib.verifier.report import Report, VerificationFailed

_SNARK_TAGS = {2: PLONK, 3: GROTH16}  # SP1Proof enum (prover-backends.md §3.3)
_META_LEN = 96  # v6: exit_code ‖ vk_root ‖ proof_nonce, 32 bytes each, big-endian


def _hex(v: int) -> str:
    return f"0x{v:064x}"


def _bytes(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        h = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            return bytes.fromhex(h)
        except ValueError:
            raise VerificationFailed("input", f"{what} is not hex") from None
    return bytes(value)


def _split(proof: bytes) -> tuple[CircuitKey, tuple[int, int, int] | None, bytes]:
    """Issue 10 "On-chain bytes": prefix(4) ‖ body (v5); prefix ‖ exit ‖ root ‖ nonce ‖ body (v6)."""
    if len(proof) < 4:
        raise VerificationFailed("format", f"proof is {len(proof)} bytes, shorter than its prefix")
    ckey = key_for_prefix(proof[:4])
    if ckey is None:
        known = ", ".join(f"{k.mode} {k.circuit_version} {k.prefix.hex()}" for k in all_keys())
        raise VerificationFailed(
            "prefix", f"proof prefix {proof[:4].hex()} is no SP1 verifying key (known: {known})")
    if versions.major(ckey.circuit_version) == 5:
        return ckey, None, proof[4:]
    if len(proof) < 4 + _META_LEN:
        raise VerificationFailed("format", "v6 proof too short for exit code, vk root and nonce")
    meta = tuple(int.from_bytes(proof[4 + 32 * i:36 + 32 * i], "big") for i in range(3))
    return ckey, meta, proof[4 + _META_LEN:]


def _check_meta(ckey: CircuitKey, meta, nonce: int | None) -> None:
    if meta is None:
        return
    exit_code, root, proof_nonce = meta
    if exit_code != 0:
        raise VerificationFailed("exit_code", f"exit code is {exit_code}; only 0 is accepted")
    if root != ckey.vk_root:
        raise VerificationFailed(
            "vk_root", f"vk root {_hex(root)} is not {ckey.circuit_version}'s {_hex(ckey.vk_root)}")
    if nonce is not None and proof_nonce != nonce:
        raise VerificationFailed(
            "nonce", f"proof nonce {_hex(proof_nonce)} is not the job's nonce {_hex(nonce)}")


def _pairing(ckey: CircuitKey, body: bytes, inputs: Sequence[int], backend: Backend) -> None:
    module = groth16 if ckey.mode == GROTH16 else plonk
    module.verify(ckey.key, body, inputs, backend)


def _inputs(vkey: int, digest: int, meta) -> list[int]:
    return [vkey, digest, *(meta or ())]


def _report(fn, *args, **kwargs) -> Report:
    """Run a check; a VerificationFailed becomes an invalid report carrying what was known."""
    known: dict = {"mode": None, "circuit_version": None, "proof_vkey": None}
    try:
        return fn(known, *args, **kwargs)
    except VerificationFailed as e:
        return Report(False, known["mode"], known["circuit_version"], e.reason, e.check,
                      known["proof_vkey"])


def verify_onchain(
    vkey: bytes | str, public_values: bytes | str, proof: bytes | str, *,
    nonce: Sequence[int] | None = None, backend: Backend | None = None,
) -> Report:
    """Verify the on-chain form. ``nonce`` (four u32 words) is checked when given."""
    return _report(_onchain, vkey, public_values, proof, nonce, backend or get_backend())


def _onchain(known: dict, vkey, public_values, proof, nonce, backend) -> Report:
    try:
        vk = int.from_bytes(fixed_bytes(vkey, 32, "vkey"), "big")
    except ValueError as e:
        raise VerificationFailed("input", str(e)) from None
    pv = _bytes(public_values, "public values")
    proof = _bytes(proof, "proof")
    ckey, meta, body = _split(proof)
    known.update(mode=ckey.mode, circuit_version=ckey.circuit_version)
    _check_meta(ckey, meta, None if nonce is None else nonce_element(nonce))
    for name, digest in zip(("sha256", "blake3"), pv_digests(pv)):
        try:
            _pairing(ckey, body, _inputs(vk, digest, meta), backend)
        except VerificationFailed as e:
            if e.check != "pairing":
                raise
            continue
        return Report(True, ckey.mode, ckey.circuit_version,
                      f"{ckey.mode} {ckey.circuit_version} proof verifies for vkey {_hex(vk)} "
                      f"(public values digest: {name})", None, _hex(vk))
    raise VerificationFailed(
        "pairing", f"{ckey.mode} pairing check failed: the proof does not verify for vkey "
        f"{_hex(vk)} with these public values (sha256 and blake3 digests tried): another "
        "program's vkey, changed public values or a corrupted proof")


# --- proof files ------------------------------------------------------------------------


def _read_snark(data: bytes):
    """(mode, public_inputs, encoded_proof, vkey_hash, public values, sp1_version) of a
    bincode ProofFromNetwork / SP1ProofWithPublicValues (prover-backends.md §3.4, §3.5)."""
    if len(data) < 4:
        raise VerificationFailed("input", "file too short to be a bincode proof")
    tag = int.from_bytes(data[:4], "little")
    if tag not in _SNARK_TAGS:
        names = {0: "Core", 1: "Compressed"}
        raise VerificationFailed(
            "input", f"not a Groth16 or Plonk proof (SP1Proof tag {tag}"
            f"{' = ' + names[tag] if tag in names else ''})")
    errors = []
    for n in (5, 2):  # [String; N] has no count: try each circuit major's N
        try:
            r = Reader(data, 4)
            inputs = [r.string(f"public_inputs[{i}]") for i in range(n)]
            encoded, _raw = r.string("encoded_proof"), r.string("raw_proof")
            vkey_hash, pv, version = r.raw(32, "vkey_hash"), r.bytes("public values"), r.string()
            rest = r.rest()
        except BincodeError as e:
            errors.append(str(e))
            continue
        if (version in versions.CIRCUIT_VERSIONS
                and versions.plonk_public_inputs_count(version) == n
                and (rest == b"" or rest[:1] in (b"\x00", b"\x01"))):  # tee_proof Option
            return _SNARK_TAGS[tag], inputs, encoded, vkey_hash, pv, version
        errors.append(f"sp1_version {version[:20]!r} with {len(rest)} trailing bytes")
    raise VerificationFailed(
        "input", f"not a bincode ProofFromNetwork/SP1ProofWithPublicValues ({'; '.join(errors)})")


def verify_proof_file(
    data: bytes, vk_hash: bytes | str, *, nonce: Sequence[int] | None = None,
    expected_public_values: bytes | None = None, backend: Backend | None = None,
) -> Report:
    """Verify a bincode proof file for the program ``vk_hash`` (either reading, see
    :func:`~network_lib.verifier.inputs.vkey_readings`). ``nonce`` and
    ``expected_public_values`` are checked when given. ``check == "vkey"`` means the proof
    verifies, but for another program's vkey (``proof_vkey``)."""
    return _report(_file, bytes(data), vk_hash, nonce, expected_public_values,
                   backend or get_backend())


def _file(known: dict, data, vk_hash, nonce, expected_pv, backend) -> Report:
    try:
        readings = vkey_readings(fixed_bytes(vk_hash, 32, "vk hash"))
    except ValueError as e:
        raise VerificationFailed("input", str(e)) from None
    mode, strings, encoded_hex, vkey_hash, pv, version = _read_snark(data)
    known.update(mode=mode, circuit_version=version)
    if not encoded_hex:
        raise VerificationFailed("format", "encoded_proof is empty: a mock proof proves nothing")
    ckey = circuit_key(version, mode)
    if vkey_hash != ckey.vkey_hash:
        raise VerificationFailed(
            "prefix", f"the proof's {mode}_vkey_hash {vkey_hash.hex()} is not SP1 {version}'s "
            f"{mode} key ({ckey.vkey_hash.hex()})")
    try:
        encoded = bytes.fromhex(encoded_hex)
        inputs = [parse_decimal(s, f"public_inputs[{i}]") for i, s in enumerate(strings)]
    except ValueError as e:
        raise VerificationFailed("public_inputs" if "public_inputs" in str(e) else "format",
                                 str(e)) from None
    known["proof_vkey"] = _hex(inputs[0])
    if len(inputs) == 5 and encoded[:_META_LEN] != b"".join(
            v.to_bytes(32, "big") for v in inputs[2:]):
        # sp1-sdk's own verify cross-checks these (crates/prover/src/verify.rs).
        raise VerificationFailed(
            "public_inputs", "encoded_proof's exit code, vk root and nonce words differ from "
            "public_inputs[2..4]")
    if expected_pv is not None and pv != bytes(expected_pv):
        raise VerificationFailed(
            "public_values", f"the proof's public values ({len(pv)} bytes) differ from the "
            f"executed ones ({len(expected_pv)} bytes)")
    if inputs[1] not in pv_digests(pv):
        raise VerificationFailed(
            "public_values", "public_inputs[1] (committed values digest) is neither the sha256 "
            "nor the blake3 digest of the proof's public values")
    ckey, meta, body = _split(ckey.prefix + encoded)
    _check_meta(ckey, meta, None if nonce is None else nonce_element(nonce))
    _pairing(ckey, body, inputs, backend)
    if inputs[0] not in readings:
        raise VerificationFailed(
            "vkey", f"the proof verifies for program vkey {_hex(inputs[0])}, not for the vk hash "
            f"{fixed_bytes(vk_hash, 32, 'vk hash').hex()}: the vk hash does not match the program")
    return Report(True, mode, version,
                  f"{mode} {version} proof verifies for vkey {_hex(inputs[0])}", None,
                  _hex(inputs[0]))
