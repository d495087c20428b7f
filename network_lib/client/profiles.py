"""SDK behaviour profiles: what differs on the wire between sp1-sdk versions.

Each profile pins one SDK generation (sdk-network-contract.md §0 version table):

* ``5.0`` — sp1-sdk 5.0.x: body signatures v∈{0,1}, create_artifact v∈{27,28}, raw bincode
  uploads, one new gRPC connection per RPC, CreateArtifact not retried, deadline checked first.
* ``5.2`` — sp1-sdk 5.2.x (Reserved): as 5.0 but body v∈{27,28}, create_artifact v∈{54,55}.
* ``6.x`` — sp1-sdk 6.4.0 (Reserved): zstd level-3 streamed uploads, ``sp1-v6.1.0``, one
  shared channel, CreateArtifact retried, CANCELLED transient, 6.4.0 outcome order.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from enum import Enum

from network_lib.signing import VStyle


class OutcomeOrder(str, Enum):
    """Which §6.1 decision order the wait loop applies."""

    DEADLINE_FIRST = "5.0"  # 5.0.x, 5.2.x, 6.0-6.1: deadline, unexecutable, fulfilled, unfulfillable
    FULFILLED_FIRST = "6.2"  # 6.2.0-6.3.1: fulfilled, unexecutable, unfulfillable, deadline
    V6_4 = "6.4"  # 6.4.0: as 6.2 plus REVERTED(5) / EXPIRED(6)


@dataclass(frozen=True)
class Profile:
    """Wire behaviour of one SDK generation; ``dataclasses.replace`` it to vary one knob."""

    name: str
    body_v: VStyle  # §3.2: CreateProgram / RequestProof signatures
    artifact_v: VStyle  # §3.2: CreateArtifact signature
    compress_uploads: bool  # §4.2: zstd level 3, no content size
    version: str  # §2.4: RequestProofRequestBody.version
    shared_channel: bool  # §7.1: one channel (6.2.2+) vs a new connection per RPC
    retry_create_artifact: bool  # §1.3 step 2: retried from 6.2.2
    cancelled_transient: bool  # §6.3: CANCELLED retried from 6.2.2
    not_ready_transient: bool  # §6.3: UNKNOWN "service was not ready" retried from 6.2.4
    outcome_order: OutcomeOrder  # §6.1
    private_stdin: bool  # §2.4 field 12, 6.2.0+
    hosted: bool  # §1.3: hosted() flavour, 6.3.0+

    @property
    def max_fulfillment_status(self) -> int:
        """Highest FulfillmentStatus the SDK can parse (§5.8)."""
        return 6 if self.outcome_order is OutcomeOrder.V6_4 else 4


SDK_5_0 = Profile(
    name="5.0",
    body_v=VStyle.PARITY,
    artifact_v=VStyle.ETHEREUM,
    compress_uploads=False,
    version="sp1-v5.0.0",
    shared_channel=False,
    retry_create_artifact=False,
    cancelled_transient=False,
    not_ready_transient=False,
    outcome_order=OutcomeOrder.DEADLINE_FIRST,
    private_stdin=False,
    hosted=False,
)

# 5.2 signs like alloy (27/28 bodies, 54/55 create_artifact, §3.2); otherwise as 5.0.
SDK_5_2 = dataclasses.replace(SDK_5_0, name="5.2", body_v=VStyle.ETHEREUM, artifact_v=VStyle.DOUBLE)

SDK_6 = Profile(
    name="6.x",
    body_v=VStyle.ETHEREUM,
    artifact_v=VStyle.DOUBLE,
    compress_uploads=True,
    version="sp1-v6.1.0",
    shared_channel=True,
    retry_create_artifact=True,
    cancelled_transient=True,
    not_ready_transient=True,
    outcome_order=OutcomeOrder.V6_4,
    private_stdin=True,
    hosted=True,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SDK_5_0, SDK_5_2, SDK_6)}
_ALIASES = {"5": "5.0", "5.0.x": "5.0", "5.2.x": "5.2", "6": "6.x", "6.4": "6.x", "6.4.0": "6.x"}


def get_profile(profile: str | Profile) -> Profile:
    """A :class:`Profile` from its name (``5.0``, ``5.2``, ``6.x``, a few aliases) or itself."""
    if isinstance(profile, Profile):
        return profile
    key = _ALIASES.get(str(profile).strip(), str(profile).strip())
    try:
        return PROFILES[key]
    except KeyError:
        raise ValueError(
            f"unknown SDK profile {profile!r} (known: {', '.join(PROFILES)})"
        ) from None
