"""Which Plonk/Groth16 circuits this host has installed (prover-backends.md §1.10).

The server reads them from `$SP1_{PLONK,GROTH16}_CIRCUIT_PATH` (default
`$HOME/.sp1/circuits/{plonk,groth16}`) under `/<circuit version>/`; from crate 6.4.0 the
directory also needs its `.complete` marker. Missing circuits would be downloaded, which
fails offline, so a worker advertises a SNARK mode only when its circuit is there.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from network_lib.versions import ProofMode

SNARKS = {ProofMode.PLONK: "plonk", ProofMode.GROTH16: "groth16"}
MARKER = ".complete"
MARKER_SINCE = (6, 4)


def circuit_dir(kind: str, circuit_version: str, environ: Mapping[str, str]) -> Optional[Path]:
    base = environ.get(f"SP1_{kind.upper()}_CIRCUIT_PATH")
    if not base:
        home = environ.get("HOME")
        if not home:
            return None
        base = os.path.join(home, ".sp1", "circuits", kind)
    return Path(base) / circuit_version


def missing(kind: str, crate_version: str, circuit_version: str,
            environ: Mapping[str, str]) -> Optional[str]:
    """Why the `kind` circuit is not installed, or None when it is."""
    d = circuit_dir(kind, circuit_version, environ)
    if d is None:
        return f"neither SP1_{kind.upper()}_CIRCUIT_PATH nor HOME is set"
    if not d.is_dir():
        return f"{d} does not exist"
    if _crate(crate_version) >= MARKER_SINCE and not (d / MARKER).exists():
        return f"{d} has no {MARKER} marker (an incomplete install)"
    return None


def snark_modes(crate_version: str, circuit_version: str,
                environ: Mapping[str, str]) -> tuple[tuple[int, ...], dict[str, str]]:
    """(the SNARK modes servable here, {kind: why not} for the others)."""
    if environ.get("SP1_CIRCUIT_MODE") == "dev":
        return tuple(int(m) for m in SNARKS), {}     # dev circuits are built, not installed
    modes, why = [], {}
    for mode, kind in SNARKS.items():
        reason = missing(kind, crate_version, circuit_version, environ)
        if reason is None:
            modes.append(int(mode))
        else:
            why[kind] = reason
    return tuple(modes), why


def _crate(version: str) -> tuple[int, int]:
    parts = version.strip().lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)
