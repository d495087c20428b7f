"""Bytes of a known length from `0x`-prefixed (or bare) hex, or from bytes."""
from __future__ import annotations


def fixed_bytes(value: bytes | str, length: int, what: str) -> bytes:
    """`value` as exactly `length` bytes; ValueError naming `what` otherwise."""
    if isinstance(value, str):
        h = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            value = bytes.fromhex(h)
        except ValueError:
            raise ValueError(f"{what} is not hex: {h!r}") from None
    if len(value) != length:
        raise ValueError(f"{what} must be {length} bytes, got {len(value)}")
    return bytes(value)
