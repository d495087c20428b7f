"""The hierophant <-> contemplant protocol over `/ws` (docs/worker-protocol.md, DESIGN.md).

JSON text frames, one object each, with a `type`. Unknown fields are ignored (either side
may add optional fields); unknown types are a protocol error. Large bytes never travel
here: inputs and proofs move over HTTP at job-scoped URLs.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import msgspec

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
        _DECODERS[type_name] = msgspec.json.Decoder(cls)
        return cls
    return wrap


_DECODERS: dict[str, msgspec.json.Decoder] = {}


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


class HeartbeatIn(msgspec.Struct, frozen=True):
    """A heartbeat as the hierophant reads it (`parse(frame, raw_hardware=True)`): `hardware`
    stays the bytes of the JSON object it came as. The hierophant only shows it (GET
    /contemplants, the dashboard), so it decodes it when shown (`hardware_object`), not 500
    times a second for 5,000 workers (bench/scheduler_bench.py)."""
    TYPE: ClassVar[str] = "heartbeat"
    jobs: list = []
    hardware: msgspec.Raw = msgspec.Raw()


def hardware_object(raw: msgspec.Raw | bytes) -> dict:
    """A `HeartbeatIn.hardware` as a dict (parse checked that it is a JSON object)."""
    return msgspec.json.decode(raw)


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


class _Envelope(msgspec.Struct):
    type: str


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_HEARTBEAT_IN = msgspec.json.Decoder(HeartbeatIn)


def parse(frame: str | bytes, *, raw_hardware: bool = False) -> Message | HeartbeatIn:
    """Decode one frame into its message; raises ProtocolError naming what is wrong.
    With `raw_hardware`, a heartbeat comes as a `HeartbeatIn` (the hierophant's reading).

    Reactor thread, for every heartbeat of every worker (500 a second from 5,000). msgspec
    reads the `type` alone, then decodes the frame straight into that message's dataclass,
    checking its fields' types and required fields (unknown fields are skipped): about half
    the cost of json + hand checks per heartbeat (bench/scheduler_bench.py)."""
    if isinstance(frame, bytes):
        if len(frame) > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
        if not frame.isascii():         # msgspec does not check the UTF-8 of what it skips
            try:
                frame.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("frame is not UTF-8 text") from None
    try:
        kind = _ENVELOPE.decode(frame).type
    except msgspec.ValidationError:
        raise ProtocolError(_no_type(frame)) from None
    except msgspec.DecodeError as e:
        raise ProtocolError(_not_json(e)) from None
    decoder = _HEARTBEAT_IN if raw_hardware and kind == "heartbeat" else _DECODERS.get(kind)
    if decoder is None:
        raise ProtocolError(f"unknown message type {kind!r}")
    try:
        msg = decoder.decode(frame)
    except msgspec.ValidationError as e:       # e.g. "Expected `int`, got `str` - at `$.attempt`"
        raise ProtocolError(f"{kind} message: {e}") from None
    except msgspec.DecodeError as e:
        raise ProtocolError(_not_json(e)) from None
    if decoder is _HEARTBEAT_IN and msg.hardware and memoryview(msg.hardware)[0] != 0x7B:      # "{"
        raise ProtocolError("heartbeat message: Expected `object` - at `$.hardware`")
    return msg


def _no_type(frame: str | bytes) -> str:
    try:
        obj = msgspec.json.decode(frame)
    except msgspec.DecodeError as e:
        return _not_json(e)
    if not isinstance(obj, dict):
        return "frame is not a JSON object"
    return f"unknown message type {obj.get('type')!r}"


def _not_json(e: ValueError) -> str:
    return f"frame is not JSON: {e}"
