"""The one SP1 version mapping table (DESIGN.md "SP1 versions").

Everything is keyed by the *circuit version*: ``v5.0.0`` (every 5.x SDK), ``v6.0.0``
(6.0.x) and ``v6.1.0`` (6.1.0-6.4.x). A request's ``version`` field is ``"sp1-"`` + circuit
version (sdk-network-contract.md §2.4); a proof's ``sp1_version`` string is the circuit version
(prover-backends.md §3.4); a prover crate version such as ``6.4.0`` maps to one circuit version.
"""

from __future__ import annotations

import re
from enum import IntEnum

V5_0_0 = "v5.0.0"
V6_0_0 = "v6.0.0"
V6_1_0 = "v6.1.0"

CIRCUIT_VERSIONS: tuple[str, ...] = (V5_0_0, V6_0_0, V6_1_0)

REQUEST_VERSION_PREFIX = "sp1-"

# Plonk/Groth16 `public_inputs: [String; N]` per major (sdk-network-contract.md §4.6,
# prover-backends.md §3.5).
_PUBLIC_INPUTS = {5: 2, 6: 5}

# crate version (major, minor) -> circuit version; minor None = any minor of that major.
# prover-backends.md §3.4 table; 6.5+ is unknown until someone checks SP1_CIRCUIT_VERSION.
_CRATE_TABLE: tuple[tuple[int, range | None, str], ...] = (
    (5, None, V5_0_0),
    (6, range(0, 1), V6_0_0),
    (6, range(1, 5), V6_1_0),
)

_CRATE_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$")


def check_circuit_version(circuit_version: str) -> str:
    """Return ``circuit_version`` if it is known, else raise ValueError naming it."""
    if circuit_version not in CIRCUIT_VERSIONS:
        raise ValueError(
            f"unknown circuit version {circuit_version!r} "
            f"(known: {', '.join(CIRCUIT_VERSIONS)})"
        )
    return circuit_version


def circuit_from_request_version(version: str) -> str:
    """Map a RequestProofRequestBody.version (``sp1-v6.1.0``) to its circuit version."""
    if isinstance(version, str) and version.startswith(REQUEST_VERSION_PREFIX):
        circuit = version[len(REQUEST_VERSION_PREFIX):]
        if circuit in CIRCUIT_VERSIONS:
            return circuit
    raise ValueError(
        f"unsupported request version {version!r} "
        f"(supported: {', '.join(request_version(c) for c in CIRCUIT_VERSIONS)})"
    )


def request_version(circuit_version: str) -> str:
    """The request ``version`` string an SDK of this circuit version sends."""
    return REQUEST_VERSION_PREFIX + check_circuit_version(circuit_version)


def circuit_from_crate_version(crate_version: str) -> str:
    """Map a prover crate version (``5.2.4``, ``6.0.1``, ``6.4.0``) to its circuit version.

    A leading ``v`` and a semver pre-release/build suffix (``6.4.0-rc.1``) are tolerated.
    """
    m = _CRATE_RE.match(crate_version.strip()) if isinstance(crate_version, str) else None
    if m is not None:
        maj, minor = int(m.group(1)), int(m.group(2))
        for t_major, t_minors, circuit in _CRATE_TABLE:
            if maj == t_major and (t_minors is None or minor in t_minors):
                return circuit
    raise ValueError(
        f"unsupported SP1 crate version {crate_version!r} "
        "(supported: 5.x.y, 6.0.x, 6.1.0-6.4.x)"
    )


def major(circuit_version: str) -> int:
    """5 or 6: the proof-system generation of a circuit version."""
    return int(check_circuit_version(circuit_version)[1])


def plonk_public_inputs_count(circuit_version_or_major: str | int) -> int:
    """Number of Plonk/Groth16 public input strings: 2 for v5, 5 for v6."""
    m = circuit_version_or_major
    if isinstance(m, str):
        m = major(m)
    try:
        return _PUBLIC_INPUTS[m]
    except KeyError:
        raise ValueError(f"unknown SP1 major version {m!r}") from None


class ProofMode(IntEnum):
    """Proto ProofMode numbering (sdk-network-contract.md §2.8; prover-backends.md §1.6)."""

    CORE = 1
    COMPRESSED = 2
    PLONK = 3
    GROTH16 = 4

    @property
    def proof_tag(self) -> int:
        """The u32 SP1Proof enum tag inside a proof (Core 0 ... Groth16 3, §3.3)."""
        return int(self) - 1

    @classmethod
    def parse(cls, value: "int | str | ProofMode") -> "ProofMode":
        """From a proto number (1-4) or a name (``"plonk"``); ValueError otherwise."""
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ValueError(f"unknown proof mode {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"unknown proof mode {value!r}")
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown proof mode {value!r} (expected 1-4)") from None


# SP1Proof bincode tags (prover-backends.md §3.3).
PROOF_TAG_CORE = 0
PROOF_TAG_COMPRESSED = 1
PROOF_TAG_PLONK = 2
PROOF_TAG_GROTH16 = 3


def proof_tag(mode: int | ProofMode) -> int:
    """SP1Proof tag for a proto proof mode."""
    return ProofMode.parse(mode).proof_tag


def mode_from_proof_tag(tag: int) -> ProofMode:
    """Proto proof mode for an SP1Proof tag (0-3); ValueError otherwise."""
    if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag <= 3:
        raise ValueError(f"unknown SP1Proof tag {tag!r} (expected 0-3)")
    return ProofMode(tag + 1)
