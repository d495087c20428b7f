"""`hierophant-verify FILE [--vk-hash 0x…] [--nonce W0,W1,W2,W3] [--json]`.

FILE is a bincode ``SP1ProofWithPublicValues`` (what ``proof.save()`` writes) or
``ProofFromNetwork`` (what ``proof_uri`` serves), which need ``--vk-hash`` (the program's
vk hash as the request carried it, either reading), or a JSON file ``{"vkey",
"publicValues", "proof"}`` in hex (the on-chain form sp1-project-template's fixtures use).

Exit status: 0 valid, 1 invalid, 2 unusable input. The verdict and the reason go to stdout;
with ``--json`` the last stdout line is one JSON object with ``valid``, ``mode``,
``circuit_version``, ``reason`` (and ``check``, ``proof_vkey``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from network_lib.verifier.api import verify_onchain, verify_proof_file
from network_lib.verifier.report import Report

_JSON_KEYS = ("vkey", "publicValues", "proof")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hierophant-verify", description="Verify an SP1 Groth16 or Plonk proof.")
    p.add_argument("file", type=Path, help="bincode proof file, or on-chain JSON fixture")
    p.add_argument("--vk-hash", help="program vk hash, 0x + 64 hex (bincode files)")
    p.add_argument("--nonce", help="expected proof nonce: four u32 words, comma-separated")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    return p


def _unusable(reason: str) -> Report:
    return Report(False, None, None, reason, "input")


def _nonce(text: str | None) -> list[int] | None:
    if text is None:
        return None
    words = [int(w, 0) for w in text.split(",")]
    if len(words) != 4 or not all(0 <= w < 1 << 32 for w in words):
        raise ValueError("--nonce must be four u32 words")
    return words


def run(args: argparse.Namespace) -> Report:
    try:
        data = args.file.read_bytes()
        nonce = _nonce(args.nonce)
    except (OSError, ValueError) as e:
        return _unusable(str(e))
    if data.lstrip()[:1] == b"{":
        try:
            doc = json.loads(data)
            vkey, pv, proof = (doc[k] for k in _JSON_KEYS)
        except (ValueError, KeyError, TypeError):
            return _unusable(f"JSON file needs the keys {', '.join(_JSON_KEYS)}")
        return verify_onchain(vkey, pv, proof, nonce=nonce)
    if not args.vk_hash:
        return _unusable("a bincode proof file needs --vk-hash (the program's vk hash)")
    return verify_proof_file(data, args.vk_hash, nonce=nonce)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    report = run(args)
    what = f"{report.mode or '?'} {report.circuit_version or '?'}"
    print(f"{'VALID' if report.valid else 'INVALID'} ({what}): {report.reason}")
    if args.json:
        print(json.dumps(report.to_json(), sort_keys=True))
    if report.valid:
        return 0
    return 2 if report.check == "input" else 1


if __name__ == "__main__":
    sys.exit(main())
