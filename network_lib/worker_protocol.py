"""The hierophant <-> contemplant protocol over `/ws` (docs/worker-protocol.md, DESIGN.md).

JSON text frames, one object each, with a `type`. Unknown fields are ignored (either side
may add optional fields); unknown types are a protocol error. Large bytes never travel
here: inputs and proofs move over HTTP at job-scoped URLs.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

PROTOCOL_VERSION = "1.1"          # MAJOR.MINOR; a MAJOR mismatch closes with CLOSE_VERSION
MAX_FRAME_BYTES = 1 << 20         # control messages only

# WebSocket close codes (4000-4999 are private use).
CLOSE_PROTOCOL = 4000     # malformed or unexpected message
CLOSE_VERSION = 4002      # protocol MAJOR differs: the contemplant must exit non-zero
CLOSE_REPLACED = 4003     # another connection registered the same worker_id
CLOSE_DROPPED = 4004      # dropped after max_strikes: the contemplant must exit non-zero
CLOSE_TIMEOUT = 4005      # no heartbeat within heartbeat_timeout_secs
CLOSE_KICKED = 4006       # an operator kicked the worker (1.1): its jobs were requeued; it may reconnect
CLOSE_NOT_LEADER = 4007   # the hierophant stopped leading: try the next address at once

# `released` (1.1): a stopping worker gives a job back untried; requeued at once, nothing spent.
FAILURE_KINDS = ("program", "infrastructure", "unsupported", "released")
RELEASED = "released"


class ProtocolError(ValueError):
    """A frame that is not valid protocol; the message names the problem."""


def major(version: str) -> int:
    try:
        return int(version.split(".", 1)[0])
    except (ValueError, AttributeError):
        raise ProtocolError(f"protocol version {version!r} is not MAJOR.MINOR") from None


@dataclass
class Message:
    TYPE = ""

    def to_json(self) -> str:
        return json.dumps({"type": self.TYPE, **asdict(self)}, separators=(",", ":"))


def _msg(type_name: str):
    def wrap(cls):
        cls.TYPE = type_name
        _TYPES[type_name] = cls
        return cls
    return wrap


_TYPES: dict[str, type[Message]] = {}


# -- contemplant -> hierophant -------------------------------------------------------------
@_msg("register")
@dataclass
class Register(Message):
    protocol: str
    worker_id: str
    name: str
    software: str = ""
    # {"backends": [...], "modes": [1,2,3,4], "circuit_versions": ["v6.1.0"], "slots": 1,
    #  "provers": [{"backend", "modes", "circuit_versions", "slots"}, ...]}   (provers: 1.1)
    capabilities: dict = field(default_factory=dict)
    hardware: dict = field(default_factory=dict)
    # Jobs this worker is still running, for re-attachment: [{"request_id", "attempt"}]
    jobs: list = field(default_factory=list)
    draining: bool = False


@_msg("heartbeat")
@dataclass
class Heartbeat(Message):
    jobs: list = field(default_factory=list)       # [{"request_id", "attempt"}]
    hardware: dict = field(default_factory=dict)


@_msg("progress")
@dataclass
class Progress(Message):
    request_id: str
    attempt: int
    phase: str = ""
    percent: float | None = None
    cycles: int | None = None


@_msg("completed")
@dataclass
class Completed(Message):
    """Sent after the proof PUT answered 200 (the PUT itself is what completes the job)."""
    request_id: str
    attempt: int


@_msg("failed")
@dataclass
class Failed(Message):
    request_id: str
    attempt: int
    kind: str            # program / infrastructure / unsupported / released (1.1)
    message: str = ""


@_msg("draining")
@dataclass
class Draining(Message):
    """The worker takes no new jobs (graceful stop); running jobs finish."""


# -- hierophant -> contemplant -------------------------------------------------------------
@_msg("registered")
@dataclass
class Registered(Message):
    protocol: str
    worker_id: str
    heartbeat_interval_secs: float
    resume: list = field(default_factory=list)     # jobs to keep running: [{"request_id", "attempt"}]
    cancel: list = field(default_factory=list)     # jobs to stop: [{"request_id", "attempt"}]


@_msg("job")
@dataclass
class Job(Message):
    request_id: str          # 0x + 64 hex
    attempt: int
    mode: int                # proto numbering: 1 core, 2 compressed, 3 plonk, 4 groth16
    circuit_version: str     # v5.0.0 / v6.0.0 / v6.1.0
    vk_hash: str             # 0x + hex
    vk: str                  # base64 of the registered bincode(SP1VerifyingKey)
    elf_url: str             # raw ELF (no bincode length prefix)
    stdin_url: str           # raw SP1Stdin bincode (zstd already decoded)
    proof_upload_url: str    # PUT bincode(ProofFromNetwork) here
    deadline: int
    cycle_limit: int
    nonce: list = field(default_factory=lambda: [0, 0, 0, 0])
    total_cycles: int | None = None
    prover: int | None = None  # 1.1: index in register's capabilities.provers to run it on


@_msg("job_update")
@dataclass
class JobUpdate(Message):
    request_id: str
    attempt: int
    total_cycles: int | None = None


@_msg("cancel")
@dataclass
class Cancel(Message):
    request_id: str
    attempt: int
    reason: str = ""


@_msg("drain")
@dataclass
class Drain(Message):
    """Asks the worker to take no new jobs (an operator is retiring it)."""
    reason: str = ""


def parse(frame: str | bytes) -> Message:
    """Decode one frame; raises ProtocolError naming what is wrong."""
    if isinstance(frame, bytes):
        if len(frame) > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("frame is not UTF-8 text") from None
    try:
        obj = json.loads(frame)
    except json.JSONDecodeError as e:
        raise ProtocolError(f"frame is not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("frame is not a JSON object")
    kind = obj.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown message type {kind!r}")
    specs = _specs(cls)
    args = {k: v for k, v in obj.items() if k in specs}
    missing = [n for n, (required, _, _) in specs.items() if required and n not in args]
    if missing:
        raise ProtocolError(f"{kind} message lacks {', '.join(missing)}")
    _check_types(kind, specs, args)
    return cls(**args)


_SIMPLE = {"str": str, "int": int, "float": (int, float), "dict": dict, "list": list, "bool": bool}
_SPECS: dict[type, dict[str, tuple[bool, str, bool]]] = {}


def _specs(cls: type) -> dict[str, tuple[bool, str, bool]]:
    """Per field of a message class: (required, base type name, may be None); computed once
    (heartbeats from thousands of workers are parsed on the reactor)."""
    specs = _SPECS.get(cls)
    if specs is None:
        from dataclasses import MISSING
        specs = {}
        for f in fields(cls):
            spec = str(f.type).replace(" ", "")
            specs[f.name] = (f.default is MISSING and f.default_factory is MISSING,
                             spec.removesuffix("|None"), spec.endswith("|None"))
        _SPECS[cls] = specs
    return specs


def _check_types(kind: str, specs: dict[str, tuple[bool, str, bool]], args: dict[str, Any]) -> None:
    for name, value in args.items():
        _, base, optional = specs[name]
        if value is None and optional:
            continue
        expected = _SIMPLE.get(base)
        if expected is None:
            continue
        if isinstance(value, bool) and base in ("int", "float"):
            raise ProtocolError(f"{kind}.{name} must be {base}, got a boolean")
        if not isinstance(value, expected):
            raise ProtocolError(f"{kind}.{name} must be {base}, got {type(value).__name__}")
