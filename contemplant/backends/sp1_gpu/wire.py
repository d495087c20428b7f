"""sp1-gpu-server wire format: u32-LE framing and the exact Request/Response bincode.

prover-backends.md §1.2 (framing), §1.4 (requests), §1.5 (responses), §1.6 (ProofMode).
Pure functions, no I/O: the Twisted protocol is in client.py.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Sequence

from network_lib.bincode import Writer

MAX_FRAME = 0xFFFFFFFF          # §1.2: the length is a u32
KEY_LEN = 32

# enum Request variant indices (§1.4)
REQ_SETUP, REQ_PROVE, REQ_DESTROY = 0, 1, 2
# enum Response variant indices (§1.5)
RESP_OK, RESP_SETUP, RESP_PROOF, RESP_PROVER_ERROR, RESP_INTERNAL_ERROR, RESP_CONNECTION_CLOSED = range(6)
RESPONSE_NAMES = ("Ok", "Setup", "Proof", "ProverError", "InternalError", "ConnectionClosed")
# serde index of ProofMode == proto value (§1.6); names as the server logs them (§1.9)
MODE_NAMES = {1: "Core", 2: "Compressed", 3: "Plonk", 4: "Groth16"}


class MalformedResponse(ValueError):
    """A reply that is not a valid `Response` (or not the one expected)."""


def program_key(elf: bytes) -> bytes:
    """The pk-cache key: sha256 of the raw ELF (§1.3)."""
    return hashlib.sha256(elf).digest()


def frame(payload: bytes) -> bytes:
    """u32 LE length + payload (§1.2)."""
    if len(payload) > MAX_FRAME:
        raise ValueError(f"frame of {len(payload)} bytes exceeds the u32 length limit")
    return struct.pack("<I", len(payload)) + payload


def setup_request(elf: bytes) -> bytes:
    """`Setup { elf, machine }`; the unit-struct `machine` is 0 bytes (§1.4)."""
    return Writer().u32(REQ_SETUP).bytes(elf).getvalue()


def prove_request(mode: int, key: bytes, stdin: bytes, nonce: Sequence[int] = (0, 0, 0, 0)) -> bytes:
    """`ProveWithMode { mode, key, stdin, proof_nonce }`; stdin spliced verbatim (§1.4, §1.7)."""
    if mode not in MODE_NAMES:
        raise ValueError(f"unknown proof mode {mode} (1-4)")
    _check_key(key)
    if len(nonce) != 4:
        raise ValueError(f"proof_nonce must be four u32 words, got {list(nonce)}")
    w = Writer().u32(REQ_PROVE).u32(mode).raw(key).raw(stdin)
    for word in nonce:
        w.u32(word)
    return w.getvalue()


def destroy_request(key: bytes) -> bytes:
    """`Destroy { key }` (§1.4)."""
    _check_key(key)
    return Writer().u32(REQ_DESTROY).raw(key).getvalue()


def _check_key(key: bytes) -> None:
    if len(key) != KEY_LEN:
        raise ValueError(f"key must be {KEY_LEN} bytes, got {len(key)}")


@dataclass(frozen=True)
class Response:
    """A decoded `Response`: `kind` is its variant index; `body` what follows it."""
    kind: int
    body: bytes = b""

    @property
    def name(self) -> str:
        return RESPONSE_NAMES[self.kind]

    @property
    def setup_id(self) -> bytes:
        return self.body[:KEY_LEN]

    @property
    def vk(self) -> bytes:
        return self.body[KEY_LEN:]          # §1.5: payload[36:]

    @property
    def message(self) -> str:
        return self.body[8:].decode("utf-8", "replace")


def decode_response(payload: bytes) -> Response:
    """Check and split one response frame body (§1.5); MalformedResponse otherwise."""
    if len(payload) < 4:
        raise MalformedResponse(f"response of {len(payload)} bytes has no variant index")
    kind = struct.unpack_from("<I", payload)[0]
    body = bytes(payload[4:])
    if kind >= len(RESPONSE_NAMES):
        raise MalformedResponse(f"unknown response variant {kind}")
    if kind == RESP_SETUP and len(body) < KEY_LEN + 1:
        raise MalformedResponse(f"Setup response of {len(payload)} bytes is too short")
    if kind == RESP_PROOF and len(body) < 4:
        raise MalformedResponse("Proof response has no SP1Proof tag")
    if kind in (RESP_PROVER_ERROR, RESP_INTERNAL_ERROR):
        _check_string(kind, body)
    return Response(kind, body)


def _check_string(kind: int, body: bytes) -> None:
    if len(body) < 8 or struct.unpack_from("<Q", body)[0] != len(body) - 8:
        raise MalformedResponse(f"{RESPONSE_NAMES[kind]} string length does not match the frame")
    try:
        body[8:].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedResponse(f"{RESPONSE_NAMES[kind]} message is not UTF-8") from None


def encode_response(kind: int, body: bytes = b"") -> bytes:
    """A `Response` payload (for the test double)."""
    return struct.pack("<I", kind) + body


def string_body(text: str) -> bytes:
    return Writer().string(text).getvalue()
