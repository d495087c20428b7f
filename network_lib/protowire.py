"""Minimal protobuf wire walking for signed envelopes (sdk-network-contract.md §3.3).

The body signature covers the body bytes exactly as the client encoded them, so the
envelope's field 3 is taken from the raw received bytes, never re-serialised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
_MAX_FIELD = (1 << 29) - 1
_MAX_GROUP_DEPTH = 32

# Signed envelope fields (CreateProgramRequest, RequestProofRequest, ... §2.2).
FIELD_FORMAT, FIELD_SIGNATURE, FIELD_BODY = 1, 2, 3
_ENVELOPE_TYPES = {FIELD_FORMAT: VARINT, FIELD_SIGNATURE: LEN, FIELD_BODY: LEN}
_ENVELOPE_NAMES = {FIELD_FORMAT: "format", FIELD_SIGNATURE: "signature", FIELD_BODY: "body"}


class WireError(ValueError):
    """Malformed protobuf wire data."""


@dataclass(frozen=True)
class Field:
    """One top-level field: ``value`` is an int (varint/fixed) or the raw payload bytes."""

    number: int
    wire_type: int
    value: int | bytes


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a varint at ``pos``; returns (value, next position). At most 10 bytes."""
    result = 0
    for i in range(10):
        if pos + i >= len(data):
            raise WireError(f"truncated varint at offset {pos}")
        b = data[pos + i]
        result |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            if i == 9 and b > 1:
                raise WireError(f"varint at offset {pos} overflows 64 bits")
            return result, pos + i + 1
    raise WireError(f"varint at offset {pos} is longer than 10 bytes")


def _read_fixed(data: bytes, pos: int, n: int, number: int) -> tuple[int, int]:
    if pos + n > len(data):
        raise WireError(f"truncated fixed{8 * n} field {number} at offset {pos}")
    return int.from_bytes(data[pos:pos + n], "little"), pos + n


def _read_len(data: bytes, pos: int, number: int) -> tuple[bytes, int]:
    n, pos = read_varint(data, pos)
    if n > len(data) - pos:
        raise WireError(
            f"truncated field {number}: length {n} at offset {pos} exceeds the "
            f"{len(data) - pos} bytes left"
        )
    return bytes(data[pos:pos + n]), pos + n


def _read_tag(data: bytes, pos: int) -> tuple[int, int, int]:
    tag, pos = read_varint(data, pos)
    number, wire_type = tag >> 3, tag & 7
    if not 1 <= number <= _MAX_FIELD:
        raise WireError(f"invalid field number {number} before offset {pos}")
    if wire_type > FIXED32:
        raise WireError(f"invalid wire type {wire_type} for field {number}")
    return number, wire_type, pos


def _skip_group(data: bytes, pos: int, number: int, depth: int) -> int:
    if depth > _MAX_GROUP_DEPTH:
        raise WireError("groups nested too deeply")
    while True:
        if pos >= len(data):
            raise WireError(f"unterminated group for field {number}")
        inner, wire_type, pos = _read_tag(data, pos)
        if wire_type == END_GROUP:
            if inner != number:
                raise WireError(f"group {number} closed by end-group {inner}")
            return pos
        _, pos = _read_value(data, pos, inner, wire_type, depth + 1)


def _read_value(
    data: bytes, pos: int, number: int, wire_type: int, depth: int = 0
) -> tuple[int | bytes, int]:
    if wire_type == VARINT:
        return read_varint(data, pos)
    if wire_type == FIXED64:
        return _read_fixed(data, pos, 8, number)
    if wire_type == FIXED32:
        return _read_fixed(data, pos, 4, number)
    if wire_type == LEN:
        return _read_len(data, pos, number)
    if wire_type == START_GROUP:
        end = _skip_group(data, pos, number, depth)
        return bytes(data[pos:end]), end
    raise WireError(f"unexpected end-group for field {number}")


def iter_fields(raw: bytes) -> Iterator[Field]:
    """Walk the top-level fields of a message; groups are returned as raw bytes."""
    pos = 0
    while pos < len(raw):
        number, wire_type, pos = _read_tag(raw, pos)
        value, pos = _read_value(raw, pos, number, wire_type)
        yield Field(number, wire_type, value)


def split_signed_envelope(raw: bytes) -> tuple[int, bytes, bytes]:
    """(format, signature, body) of a signed request, body as the raw field-3 bytes.

    Unknown fields are skipped. A known field with the wrong wire type, or present twice,
    is a WireError (duplicates would make "which body was signed" ambiguous). Absent
    fields take their proto3 defaults (0, b"", b"").
    """
    seen: dict[int, int | bytes] = {}
    for f in iter_fields(raw):
        expected = _ENVELOPE_TYPES.get(f.number)
        if expected is None:
            continue
        name = _ENVELOPE_NAMES[f.number]
        if f.wire_type != expected:
            raise WireError(
                f"envelope field {f.number} ({name}) has wire type {f.wire_type}, "
                f"expected {expected}"
            )
        if f.number in seen:
            raise WireError(f"envelope field {f.number} ({name}) appears more than once")
        seen[f.number] = f.value
    fmt = seen.get(FIELD_FORMAT, 0)
    if fmt >= 1 << 63:  # negative enum values are sign-extended varints
        fmt -= 1 << 64
    return fmt, seen.get(FIELD_SIGNATURE, b""), seen.get(FIELD_BODY, b"")


# --- tiny encoder (for clients and tests) ---------------------------------------------------


def encode_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    if not 0 <= value < 1 << 64:
        raise WireError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_tag(number: int, wire_type: int) -> bytes:
    return encode_varint(number << 3 | wire_type)


def encode_varint_field(number: int, value: int) -> bytes:
    return encode_tag(number, VARINT) + encode_varint(value)


def encode_len_field(number: int, payload: bytes) -> bytes:
    return encode_tag(number, LEN) + encode_varint(len(payload)) + bytes(payload)


def encode_signed_envelope(fmt: int, signature: bytes, body: bytes) -> bytes:
    """format=1 / signature=2 / body=3 as prost encodes them: scalar defaults omitted,
    the body message always present (the SDK always sets it)."""
    out = encode_varint_field(FIELD_FORMAT, fmt) if fmt else b""
    if signature:
        out += encode_len_field(FIELD_SIGNATURE, signature)
    return out + encode_len_field(FIELD_BODY, body)
