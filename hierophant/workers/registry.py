"""Connected workers and what each is doing, on the reactor."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from network_lib import versions
from network_lib.worker_protocol import Message

EWMA_WEIGHT = 0.3


class Connection(Protocol):
    """What the scheduler needs of a worker's socket."""
    peer: str

    def send(self, message: Message) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass
class Assignment:
    request_id: bytes
    attempt: int
    mode: int
    started: float
    phase: str = "assigned"
    percent: float | None = None
    cycles: int | None = None
    last_progress: float = 0.0


@dataclass
class Worker:
    worker_id: str
    name: str
    address: str = ""
    software: str = ""
    backends: list[str] = field(default_factory=list)
    modes: set[int] = field(default_factory=set)
    circuit_versions: set[str] = field(default_factory=set)
    slots: int = 1
    hardware: dict = field(default_factory=dict)
    conn: Connection | None = None
    jobs: dict[bytes, Assignment] = field(default_factory=dict)
    strikes: int = 0
    completed: int = 0
    draining: bool = False                 # the worker said so (it is stopping)
    drained: bool = False                  # an operator said so (hierophant-admin drain)
    connected_at: float = 0.0
    last_seen: float = 0.0
    last_assigned: float = 0.0
    freed_at: float | None = None          # when a slot last became free (dispatch latency)
    ewma_secs: dict[int, float] = field(default_factory=dict)   # mode -> proof time
    unsupported: set[tuple[int, str]] = field(default_factory=set)

    @property
    def connected(self) -> bool:
        return self.conn is not None

    def free_slots(self) -> int:
        if not self.connected or self.draining or self.drained:
            return 0
        return max(0, self.slots - len(self.jobs))

    def serves(self, mode: int, circuit_version: str) -> bool:
        return (mode in self.modes and circuit_version in self.circuit_versions
                and (mode, circuit_version) not in self.unsupported)

    def speed_key(self, mode: int) -> tuple[float, float]:
        """Lower is preferred: fastest known proof time for the mode, then least recently used.
        A worker with no history for the mode is tried first (it may be the fastest)."""
        return (self.ewma_secs.get(mode, 0.0), self.last_assigned)

    def record_time(self, mode: int, secs: float) -> None:
        old = self.ewma_secs.get(mode)
        self.ewma_secs[mode] = secs if old is None else old + EWMA_WEIGHT * (secs - old)

    def update_from_register(self, msg, peer: str) -> None:
        caps = msg.capabilities or {}
        self.name = msg.name or self.name
        self.address = peer
        self.software = msg.software
        self.backends = [str(b) for b in caps.get("backends", [])]
        self.modes = {int(m) for m in caps.get("modes", [])}
        self.circuit_versions = {str(v) for v in caps.get("circuit_versions", [])}
        self.slots = max(0, int(caps.get("slots", 1)))
        self.hardware = msg.hardware or {}
        self.draining = bool(msg.draining)

    def to_json(self, now: float) -> dict[str, Any]:
        slots = []
        jobs = list(self.jobs.values())
        for i in range(max(self.slots, len(jobs))):
            a = jobs[i] if i < len(jobs) else None
            slots.append({
                "slot": i,
                "request_id": "0x" + a.request_id.hex() if a else None,
                "attempt": a.attempt if a else None,
                "proof_mode": versions.ProofMode(a.mode).name if a else None,
                "phase": a.phase if a else None,
                "progress": a.percent if a else None,
                "cycles": a.cycles if a else None,
                "busy_secs": round(now - a.started, 1) if a else None,
            })
        return {
            "worker_id": self.worker_id, "name": self.name, "address": self.address,
            "software": self.software, "connected": self.connected,
            "draining": self.draining or self.drained, "drained_by_operator": self.drained,
            "backends": self.backends, "modes": sorted(versions.ProofMode(m).name for m in self.modes
                                                        if m in (1, 2, 3, 4)),
            "circuit_versions": sorted(self.circuit_versions), "slots": slots,
            "status": "Busy" if self.jobs else "Idle",
            "strikes": self.strikes, "num_completed_proofs": self.completed,
            "average_proof_secs": {versions.ProofMode(m).name: round(s, 2) for m, s in self.ewma_secs.items()},
            "connected_secs": round(now - self.connected_at, 1) if self.connected else None,
            "last_heartbeat_secs_ago": round(now - self.last_seen, 1),
            "hardware": self.hardware,
        }
