"""Connected workers, their provers and what each slot is doing: the worker registry.

Live, in-memory state owned by the scheduler on the reactor thread (nothing here is
persisted; dead workers are, through hierophant.workers.dead). `Registry.touch` keeps the
placement index (`FreeSlots`) true after any change to a worker's jobs or state.

A worker carries one or more provers (protocol 1.1 `capabilities.provers`; a 1.0 worker's
flat capability fields make one prover). Each prover has its own slots, modes and circuit
versions; a job occupies a slot of the prover it was placed on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from hierophant.model import rid_hex
from hierophant.workers.placement import FreeSlots, Key, SlotRef
from network_lib import versions
from network_lib.worker_protocol import Message, hardware_object

EWMA_WEIGHT = 0.3
MODES = (1, 2, 3, 4)


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
    prover: int
    started: float
    phase: str = "assigned"
    percent: float | None = None
    cycles: int | None = None
    last_progress: float = 0.0


@dataclass
class Prover:
    index: int
    backend: str
    modes: frozenset[int]
    circuit_versions: frozenset[str]
    slots: int
    busy: int = 0
    unsupported: set[Key] = field(default_factory=set)     # refused for good (until re-register)
    blocked_until: float = 0.0                             # a transient "no free slot" refusal

    def keys(self) -> frozenset[Key]:
        return frozenset((m, v) for m in self.modes for v in self.circuit_versions) - self.unsupported

    def serves(self, key: Key) -> bool:
        return key[0] in self.modes and key[1] in self.circuit_versions and key not in self.unsupported


def provers_from(caps: dict) -> list[Prover]:
    """Provers of a `register` message's capabilities (docs/worker-protocol.md, 1.1)."""
    listed = caps.get("provers")
    if not isinstance(listed, list) or not listed:
        listed = [caps]            # a 1.0 worker: its flat fields are one prover
    out = []
    for i, p in enumerate(x for x in listed if isinstance(x, dict)):
        backends = p.get("backends")
        backend = p.get("backend") or (", ".join(map(str, backends)) if isinstance(backends, list) else "")
        out.append(Prover(index=i, backend=str(backend),
                          modes=frozenset(int(m) for m in p.get("modes", []) if isinstance(m, int)),
                          circuit_versions=frozenset(str(v) for v in p.get("circuit_versions", [])),
                          slots=max(0, int(p.get("slots", 1)) if isinstance(p.get("slots", 1), int) else 1)))
    return out


@dataclass
class Worker:
    worker_id: str
    name: str
    address: str = ""
    software: str = ""
    provers: list[Prover] = field(default_factory=list)
    hardware_json: Any = None              # the last heartbeat's hardware, JSON bytes: decoded when read
    _hardware: dict = field(default_factory=dict, repr=False)
    conn: Connection | None = None
    jobs: dict[bytes, Assignment] = field(default_factory=dict)
    strikes: int = 0
    completed: int = 0
    draining: bool = False             # the worker said so (it is stopping)
    held: bool = False                 # an operator drained it (admin); survives reconnects
    connected_at: float = 0.0
    last_seen: float = 0.0
    last_assigned: float = 0.0
    freed_at: float | None = None          # when a slot last became free (dispatch latency)
    ewma_secs: dict[int, float] = field(default_factory=dict)   # mode -> proof time

    @property
    def hardware(self) -> dict:
        """What the worker last reported of its host (register, heartbeats)."""
        if self.hardware_json is not None:
            self._hardware, self.hardware_json = hardware_object(self.hardware_json), None
        return self._hardware

    @hardware.setter
    def hardware(self, value: dict) -> None:
        self._hardware, self.hardware_json = value, None

    @property
    def connected(self) -> bool:
        return self.conn is not None

    @property
    def slots(self) -> int:
        return sum(p.slots for p in self.provers)

    @property
    def modes(self) -> set[int]:
        return {m for p in self.provers for m in p.modes}

    @property
    def circuit_versions(self) -> set[str]:
        return {v for p in self.provers for v in p.circuit_versions}

    @property
    def backends(self) -> list[str]:
        return sorted({p.backend for p in self.provers if p.backend})

    def accepting(self) -> bool:
        return self.connected and not self.draining and not self.held

    def serves(self, key: Key) -> bool:
        return any(p.serves(key) for p in self.provers)

    def free_keys(self, prover: Prover, now: float) -> frozenset[Key]:
        if not self.accepting() or prover.busy >= prover.slots or prover.blocked_until > now:
            return frozenset()
        return prover.keys()

    def speed_key(self, mode: int) -> tuple[float, float]:
        """Lower is preferred: fastest known proof time for the mode, then least recently used.
        A worker with no history for the mode is tried first (it may be the fastest)."""
        return (self.ewma_secs.get(mode, 0.0), self.last_assigned)

    def record_time(self, mode: int, secs: float) -> None:
        old = self.ewma_secs.get(mode)
        self.ewma_secs[mode] = secs if old is None else old + EWMA_WEIGHT * (secs - old)

    def update_from_register(self, msg, peer: str) -> None:
        caps = msg.capabilities if isinstance(msg.capabilities, dict) else {}
        self.name = msg.name or self.name
        self.address = peer
        self.software = msg.software
        busy: dict[int, int] = {}
        for a in self.jobs.values():
            busy[a.prover] = busy.get(a.prover, 0) + 1
        self.provers = provers_from(caps)
        for p in self.provers:
            p.busy = busy.get(p.index, 0)
        self.hardware = msg.hardware or {}
        self.draining = bool(msg.draining)

    def prover_for(self, request_id: bytes) -> Prover | None:
        a = self.jobs.get(request_id)
        return self.provers[a.prover] if a is not None and a.prover < len(self.provers) else None

    def to_json(self, now: float) -> dict[str, Any]:
        slots = []
        jobs = list(self.jobs.values())
        for i in range(max(self.slots, len(jobs))):
            a = jobs[i] if i < len(jobs) else None
            slots.append({
                "slot": i,
                "prover": a.prover if a else None,
                "request_id": rid_hex(a.request_id) if a else None,
                "attempt": a.attempt if a else None,
                "proof_mode": versions.ProofMode(a.mode).name if a else None,
                "phase": a.phase if a else None,
                "progress": a.percent if a else None,
                "cycles": a.cycles if a else None,
                "busy_secs": round(now - a.started, 1) if a else None,
            })
        return {
            "worker_id": self.worker_id, "name": self.name, "address": self.address,
            "software": self.software, "connected": self.connected, "draining": self.draining,
            "held": self.held, "backends": self.backends,
            "modes": sorted(versions.ProofMode(m).name for m in self.modes if m in MODES),
            "circuit_versions": sorted(self.circuit_versions), "slots": slots,
            "provers": [{"backend": p.backend, "slots": p.slots, "busy": p.busy,
                         "modes": sorted(versions.ProofMode(m).name for m in p.modes if m in MODES),
                         "circuit_versions": sorted(p.circuit_versions)} for p in self.provers],
            "status": "Busy" if self.jobs else "Idle",
            "strikes": self.strikes, "num_completed_proofs": self.completed,
            "average_proof_secs": {versions.ProofMode(m).name: round(s, 2) for m, s in self.ewma_secs.items()},
            "connected_secs": round(now - self.connected_at, 1) if self.connected else None,
            "last_heartbeat_secs_ago": round(now - self.last_seen, 1),
            "hardware": self.hardware,
        }


class Registry:
    """Workers by id, and the placement index of their free prover slots."""

    def __init__(self) -> None:
        self.workers: dict[str, Worker] = {}
        self.free = FreeSlots()

    def get(self, worker_id: str | None) -> Worker | None:
        return self.workers.get(worker_id) if worker_id else None

    def add(self, w: Worker) -> Worker:
        self.workers[w.worker_id] = w
        return w

    def remove(self, w: Worker) -> None:
        if self.workers.get(w.worker_id) is w:
            del self.workers[w.worker_id]
        self.clear(w)

    def clear(self, w: Worker) -> None:
        """Drop `w`'s provers from the index (before they are replaced or `w` leaves)."""
        for p in w.provers:
            self.free.set(SlotRef(w.worker_id, p.index), ())

    def touch(self, w: Worker, now: float) -> None:
        """Keep the free-slot index true after a change to `w`'s jobs, state or provers."""
        live = self.workers.get(w.worker_id) is w
        for p in w.provers:
            self.free.set(SlotRef(w.worker_id, p.index), w.free_keys(p, now) if live else ())

    def connected(self) -> list[Worker]:
        return [w for w in self.workers.values() if w.connected]

    def serves(self, key: Key) -> bool:
        return any(w.serves(key) for w in self.workers.values() if w.connected)

    def rank(self, ref: SlotRef, mode: int) -> tuple:
        return self.workers[ref.worker_id].speed_key(mode)
