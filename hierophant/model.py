"""Records the coordinator keeps: programs, artifacts, proof requests, history, dead workers.

Every record is an immutable value (a frozen dataclass, changed with `dataclasses.replace`).
Each kind has one owner on the reactor thread that writes a new value to the store and swaps
it in (and publishes it) only after the commit: RequestBook (requests), ArtifactIndex
(artifacts), Programs (programs), Nonces (nonces), History (proof records), DeadWorkers
(dead workers). Nobody else changes them. Status numbers are the proto enums
(sdk-network-contract.md §2.8).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from enum import IntEnum

from network_lib.hexutil import fixed_bytes


class Fulfillment(IntEnum):
    UNSPECIFIED = 0
    REQUESTED = 1
    ASSIGNED = 2
    FULFILLED = 3
    UNFULFILLABLE = 4


class Execution(IntEnum):
    UNSPECIFIED = 0
    UNEXECUTED = 1
    EXECUTED = 2
    UNEXECUTABLE = 3


class ArtifactKind(IntEnum):
    """proto ArtifactType numbering (§2.1)."""
    UNSPECIFIED = 0
    PROGRAM = 1
    STDIN = 2
    PROOF = 3
    TRANSACTION = 4
    STATE = 5
    EXPORT = 6
    PRIVATE_STDIN = 7


TERMINAL = frozenset({Fulfillment.FULFILLED, Fulfillment.UNFULFILLABLE})


def now() -> int:
    return int(time.time())


def new_token() -> str:
    """An unguessable URL token (256 bits)."""
    return secrets.token_urlsafe(32)


def rid_hex(request_id: bytes) -> str:
    """A request id as the protocol and the logs write it: 0x + 64 hex digits."""
    return "0x" + request_id.hex()


def parse_rid(text: object) -> bytes | None:
    """A request id from `0x`-prefixed (or bare) hex; None unless exactly 32 bytes."""
    if not isinstance(text, str):
        return None
    try:
        return fixed_bytes(text, 32, "request id")
    except ValueError:
        return None


@dataclass(frozen=True)
class Program:
    vk_hash: bytes
    vk: bytes
    program_uri: str          # the artifact_uri the client registered
    artifact_id: str
    owner: bytes
    created_at: int
    last_used: int


@dataclass(frozen=True)
class Artifact:
    id: str
    kind: ArtifactKind
    owner: bytes
    created_at: int
    upload_token: str | None = None     # None for artifacts nobody may upload (proofs)
    download_token: str | None = None   # set only for proofs (the public proof_uri)
    complete: bool = False
    size: int = 0                       # stored (decoded) bytes
    wire_sha256: bytes = b""            # of the bytes as uploaded, for idempotent re-PUT
    completed_at: int | None = None

    @property
    def uri(self) -> str:
        return self.id


@dataclass(frozen=True)
class ProofRequest:
    request_id: bytes
    requester: bytes
    vk_hash: bytes
    version: str
    circuit_version: str
    mode: int
    strategy: int
    stdin_uri: str
    stdin_artifact: str
    program_artifact: str
    program_uri: str
    deadline: int
    cycle_limit: int
    gas_limit: int
    min_auction_period: int
    whitelist: tuple[bytes, ...]
    stdin_private: bool
    nonce: int
    tx_hash: bytes
    created_at: int
    updated_at: int
    fulfillment: Fulfillment = Fulfillment.REQUESTED
    execution: Execution = Execution.UNEXECUTED
    fulfilled_at: int | None = None
    proof_artifact: str | None = None
    cycles: int | None = None
    public_values_hash: bytes | None = None
    execute_fail_cause: int = 0
    failure: str = ""
    attempts: int = 0                  # attempts that cost: program failures, bad proofs
    infra_retries: int = 0             # infrastructure failures and timeouts
    attempt: int = 0                   # number of the current (or last) dispatch
    worker_id: str | None = None       # who holds the current attempt
    job_token: str | None = None       # the current attempt's job-scoped URL token
    assigned_at: float | None = None
    # Never changed in place: `replace(r, extra={**r.extra, key: value})`. Keys:
    # public_values (hex, from our execution), execution_no_verdict, program_failures.
    extra: dict = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.fulfillment in TERMINAL

    @property
    def idempotency_key(self) -> tuple:
        # DESIGN.md "Artifacts": same requester, vk_hash, stdin_uri and mode.
        return (self.requester, self.vk_hash, self.stdin_uri, self.mode)


@dataclass(frozen=True)
class ProofRecord:
    """One finished attempt, for /proof-history."""
    id: str
    request_id: bytes
    attempt: int
    mode: int
    circuit_version: str
    worker_id: str
    worker_name: str
    started_at: float
    finished_at: float
    outcome: str               # fulfilled / program / infrastructure / bad-proof / lost / released / ...
    detail: str = ""
    checked: str = ""          # a fulfilled proof: how it was checked (verified / structure / mock)


@dataclass(frozen=True)
class DeadWorker:
    """A worker dropped after max_strikes, for /dead-contemplants."""
    worker_id: str
    name: str
    address: str
    strikes: int
    reason: str
    died_at: float
    completed: int = 0
